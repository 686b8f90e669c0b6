package gpus

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// RegionGroup is the coarse location an offer is filtered by: where the data
// centre is, not what the vendor calls its region.
type RegionGroup string

// The region groups of the API, by the country of the data centre.
const (
	US    RegionGroup = "US"    // the United States
	EU    RegionGroup = "EU"    // Europe: EU members and the rest of Europe
	APAC  RegionGroup = "APAC"  // Asia and Oceania
	Other RegionGroup = "Other" // everything else: Canada, Latin America, Middle East, Africa
)

// RegionGroups lists every group in API order: the body of GET /available_regions.
func RegionGroups() []RegionGroup {
	return []RegionGroup{US, EU, APAC, Other}
}

// ParseRegionGroup reads a group name as users write it, in any case.
func ParseRegionGroup(s string) (RegionGroup, bool) {
	for _, g := range RegionGroups() {
		if strings.EqualFold(s, string(g)) {
			return g, true
		}
	}
	return "", false
}

// GroupOf maps an ISO 3166-1 alpha-2 country code, in any case, to its
// region group. A code the table does not know is Other.
func GroupOf(countryCode string) RegionGroup {
	if g, ok := regions()[strings.ToUpper(strings.TrimSpace(countryCode))]; ok {
		return g
	}
	return Other
}

//go:embed data/regions.yaml
var embeddedRegions string

// regions returns the embedded region table, loaded on first use. Like
// GPUs, it panics only on a broken build: the tests load the same file.
var regions = sync.OnceValue(func() map[string]RegionGroup {
	table, err := loadRegions(strings.NewReader(embeddedRegions))
	if err != nil {
		panic(fmt.Sprintf("gpus: embedded data/regions.yaml: %v", err))
	}
	return table
})

// loadRegions parses and validates a region table (the format of
// data/regions.yaml) into country code → group.
func loadRegions(r io.Reader) (map[string]RegionGroup, error) {
	var file struct {
		Version int `yaml:"version"`
		Groups  struct {
			US    []string `yaml:"US"`
			EU    []string `yaml:"EU"`
			APAC  []string `yaml:"APAC"`
			Other []string `yaml:"Other"`
		} `yaml:"groups"`
	}
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("parse region table: empty document")
		}
		return nil, fmt.Errorf("parse region table: %w", err)
	}
	if file.Version < 1 {
		return nil, errors.New("region table: version must be a positive integer")
	}
	table := make(map[string]RegionGroup)
	for group, codes := range map[RegionGroup][]string{
		US: file.Groups.US, EU: file.Groups.EU, APAC: file.Groups.APAC, Other: file.Groups.Other,
	} {
		for _, code := range codes {
			if !isAlpha2(code) {
				return nil, fmt.Errorf("region table: %s: %q is not an upper-case alpha-2 code", group, code)
			}
			if prev, ok := table[code]; ok {
				return nil, fmt.Errorf("region table: %s is in both %s and %s", code, prev, group)
			}
			table[code] = group
		}
	}
	return table, nil
}

func isAlpha2(code string) bool {
	return len(code) == 2 && 'A' <= code[0] && code[0] <= 'Z' && 'A' <= code[1] && code[1] <= 'Z'
}
