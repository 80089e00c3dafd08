# 15 lines, 10 code, 2 comments, 3 blanks


def add(x, y):
    """
    Hello World
    # Real Second line
    Second line
    """

    string = "Hello World  #\
    "
    y += len(string)
    # Add the two numbers.
    x + y
