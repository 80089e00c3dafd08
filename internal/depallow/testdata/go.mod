module example.org/m

go 1.22

require (
	github.com/pelletier/go-toml/v2 v2.2.4
	golang.org/x/mod v0.25.0 // indirect
	example.org/forked v1.0.0
	example.org/nosum v1.0.0
)

replace example.org/forked => ../forked
