//go:build unix

package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// termWidth is how many columns the terminal f shows, or 0 when f is no
// terminal or will not say.
func termWidth(f *os.File) int {
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return 0
	}
	return int(ws.Col)
}
