package handlers

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The set-up's QR code as the SVG draws it: a square of modules with
// the 4-module quiet zone, the three finder patterns where a reader
// looks for them (not bottom right), and a size that is a QR version's.
func TestQRSVGDrawsAReadableSymbol(t *testing.T) {
	uri := "otpauth://totp/Acme%20Portal:alice@example.com?algorithm=SHA1&digits=6&issuer=Acme%20Portal&period=30&secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	svg, err := qrSVG(uri)
	if err != nil {
		t.Fatal(err)
	}
	s := string(svg)
	if strings.Contains(s, "alice") || strings.Contains(s, "JBSWY3DP") {
		t.Fatal("the SVG echoes the URI")
	}
	m := regexp.MustCompile(`viewBox="0 0 (\d+) (\d+)"`).FindStringSubmatch(s)
	if m == nil || m[1] != m[2] {
		t.Fatalf("no square viewBox in %.120s", s)
	}
	size, _ := strconv.Atoi(m[1])
	const quiet = 4
	n := size - 2*quiet
	if (n-17)%4 != 0 || n < 21 || n > 177 {
		t.Fatalf("%d modules a side is no QR version", n)
	}
	dark := make([][]bool, size)
	for i := range dark {
		dark[i] = make([]bool, size)
	}
	for _, mm := range regexp.MustCompile(`M(\d+) (\d+)h1v1h-1z`).FindAllStringSubmatch(s, -1) {
		x, _ := strconv.Atoi(mm[1])
		y, _ := strconv.Atoi(mm[2])
		if x < quiet || y < quiet || x >= size-quiet || y >= size-quiet {
			t.Fatalf("a dark module in the quiet zone at %d,%d", x, y)
		}
		dark[y][x] = true
	}
	finder := func(x0, y0 int) error {
		for y := range 7 {
			for x := range 7 {
				ring := max(qrAbs(x-3), qrAbs(y-3))
				want := ring != 2 // dark outer ring, light ring, dark 3x3 centre
				if dark[y0+y][x0+x] != want {
					return fmt.Errorf("module %d,%d of the pattern at %d,%d", x, y, x0, y0)
				}
			}
		}
		return nil
	}
	lo, hi := quiet, quiet+n-7
	for _, c := range [][2]int{{lo, lo}, {hi, lo}, {lo, hi}} {
		if err := finder(c[0], c[1]); err != nil {
			t.Fatalf("finder pattern: %v", err)
		}
	}
	if finder(hi, hi) == nil {
		t.Fatal("a finder pattern bottom right")
	}
}

func qrAbs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
