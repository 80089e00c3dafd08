package secrets

import "slices"

// matcher is an Aho-Corasick automaton compiled to a dense DFA over
// ASCII-lowercased bytes: one table lookup per input byte, whatever the
// number of keywords. It answers "which keywords occur, and where".
type matcher struct {
	// next[s*256+b] is the state after reading byte b in state s.
	next []int32
	// out[s] lists the keywords (indexes) that end in state s, including
	// those reached through failure links.
	out [][]int32
	// lens[k] is the byte length of keyword k.
	lens []int
}

var lowerTable = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
		if i >= 'A' && i <= 'Z' {
			t[i] = byte(i) + 'a' - 'A'
		}
	}
	return t
}()

// newMatcher compiles keywords, matched case-insensitively (ASCII).
// Empty keywords are ignored.
func newMatcher(keywords []string) *matcher {
	type node struct {
		children map[byte]int32
		fail     int32
		out      []int32
	}
	nodes := []node{{children: map[byte]int32{}}}
	m := &matcher{lens: make([]int, len(keywords))}
	for k, kw := range keywords {
		m.lens[k] = len(kw)
		if kw == "" {
			continue
		}
		s := int32(0)
		for i := 0; i < len(kw); i++ {
			b := lowerTable[kw[i]]
			n, ok := nodes[s].children[b]
			if !ok {
				n = int32(len(nodes))
				nodes = append(nodes, node{children: map[byte]int32{}})
				nodes[s].children[b] = n
			}
			s = n
		}
		nodes[s].out = append(nodes[s].out, int32(k))
	}
	m.next = make([]int32, len(nodes)*256)
	m.out = make([][]int32, len(nodes))
	// Breadth-first: the failure state of every node is final before its
	// children are visited, so the dense table fills in one pass.
	queue := []int32{0}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		row := m.next[int(s)*256 : int(s)*256+256]
		f := nodes[s].fail
		// A byte without a child goes where the failure state's does (the
		// root's row stays 0); the children then take their bytes.
		if s != 0 {
			copy(row, m.next[int(f)*256:int(f)*256+256])
		}
		bs := make([]byte, 0, len(nodes[s].children))
		for b := range nodes[s].children {
			bs = append(bs, b)
		}
		slices.Sort(bs)
		for _, b := range bs {
			c := nodes[s].children[b]
			if s != 0 {
				nodes[c].fail = m.next[int(f)*256+int(b)]
			}
			row[b] = c
			queue = append(queue, c)
		}
		out := append([]int32(nil), nodes[s].out...)
		if s != 0 {
			out = append(out, m.out[f]...)
		}
		m.out[s] = out
	}
	// Uppercase input bytes follow the lowercase transitions.
	for s := 0; s < len(nodes); s++ {
		row := m.next[s*256 : s*256+256]
		for b := 'A'; b <= 'Z'; b++ {
			row[b] = row[b+'a'-'A']
		}
	}
	return m
}

// scan calls hit for every occurrence of every keyword in data, with the
// keyword's index and the offset where it starts.
func (m *matcher) scan(data []byte, hit func(kw int, start int)) {
	next, out := m.next, m.out
	s := int32(0)
	for i, b := range data {
		s = next[int(s)<<8|int(b)]
		if len(out[s]) != 0 {
			for _, k := range out[s] {
				hit(int(k), i+1-m.lens[k])
			}
		}
	}
}
