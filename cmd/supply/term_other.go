//go:build !unix

package main

import "os"

// termWidth is 0 where the terminal's width cannot be asked: live lines
// are not cut to it.
func termWidth(*os.File) int { return 0 }
