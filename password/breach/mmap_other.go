//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package breach

import (
	"fmt"
	"io"
	"os"
)

// mapFile reads the first size bytes of f into memory (no mmap here).
func mapFile(f *os.File, size int) ([]byte, func([]byte) error, error) {
	data := make([]byte, size)
	if _, err := f.ReadAt(data, 0); err != nil && err != io.EOF {
		return nil, nil, fmt.Errorf("read: %w", err)
	}
	return data, func([]byte) error { return nil }, nil
}
