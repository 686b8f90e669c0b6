// Package gpus holds the reference data every other layer names things by:
// the GPU registry (families, canonical variant names, memory, form factor and
// the spellings vendors use) and the region table (country → US, EU, APAC,
// Other). Both are versioned data files embedded from data/.
package gpus

import (
	"cmp"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// GPU is one exact GPU variant: what an offer's gpu_type names.
type GPU struct {
	Family     string   `yaml:"family"`      // what users ask for to match every variant: "H100", "RTX 4090"
	Name       string   `yaml:"name"`        // canonical: "nvidia-h100-sxm5-80gb"
	Maker      string   `yaml:"maker"`       // "nvidia", "amd"
	MemoryGB   int      `yaml:"memory_gb"`   // memory per GPU
	FormFactor string   `yaml:"form_factor"` // "sxm5", "pcie", "nvl", "oam", ...
	Aliases    []string `yaml:"aliases"`     // vendors' spellings; shared, do not modify
}

// Registry answers which GPU a name means. It is immutable after Load and
// safe for concurrent use.
type Registry struct {
	byKey       map[string]int   // normalised canonical name or alias → index into gpus
	families    map[string][]int // normalised family → indexes into gpus, sorted by name
	gpus        []GPU
	suggestions []suggestion // every family and canonical name, for Suggest
}

//go:embed data/gpus.yaml
var embeddedGPUs string

// GPUs returns the registry embedded in the binary, loaded on first use.
// The embedded file is checked by the package tests, so a failure here is a
// broken build, not bad input, and panics.
func GPUs() *Registry {
	return embeddedRegistry()
}

var embeddedRegistry = sync.OnceValue(func() *Registry {
	r, err := Load(strings.NewReader(embeddedGPUs))
	if err != nil {
		panic(fmt.Sprintf("gpus: embedded data/gpus.yaml: %v", err))
	}
	return r
})

var canonicalName = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)+$`)

// Load parses and validates a registry data file (the format of data/gpus.yaml).
func Load(r io.Reader) (*Registry, error) {
	var file struct {
		Version int   `yaml:"version"`
		GPUs    []GPU `yaml:"gpus"`
	}
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("parse GPU registry: empty document")
		}
		return nil, fmt.Errorf("parse GPU registry: %w", err)
	}
	if file.Version < 1 {
		return nil, errors.New("GPU registry: version must be a positive integer")
	}
	if len(file.GPUs) == 0 {
		return nil, errors.New("GPU registry: no gpus")
	}
	return newRegistry(file.GPUs)
}

// newRegistry checks the entries against each other and builds the indexes.
func newRegistry(gpus []GPU) (*Registry, error) {
	reg := &Registry{
		byKey:    make(map[string]int),
		families: make(map[string][]int),
		gpus:     gpus,
	}
	// owner remembers the spelling that claimed each key, for error messages.
	owner := make(map[string]string)
	claim := func(i int, spelling string) error {
		key := normalize(spelling)
		if key == "" {
			return fmt.Errorf("GPU %s: empty alias", gpus[i].Name)
		}
		if j, ok := reg.byKey[key]; ok {
			if j == i {
				return nil // the same GPU spelt twice: harmless, and documents a vendor's spelling
			}
			return fmt.Errorf("GPU %s: %q collides with %q of GPU %s", gpus[i].Name, spelling, owner[key], gpus[j].Name)
		}
		owner[key] = spelling
		reg.byKey[key] = i
		return nil
	}
	for i, g := range gpus {
		if err := validate(g); err != nil {
			return nil, err
		}
		if err := claim(i, g.Name); err != nil {
			return nil, err
		}
		for _, alias := range g.Aliases {
			if err := claim(i, alias); err != nil {
				return nil, err
			}
		}
		fam := normalize(g.Family)
		if first, ok := reg.families[fam]; ok && gpus[first[0]].Family != g.Family {
			return nil, fmt.Errorf("GPU %s: family %q collides with %q", g.Name, g.Family, gpus[first[0]].Family)
		}
		reg.families[fam] = append(reg.families[fam], i)
	}
	for fam, members := range reg.families {
		slices.SortFunc(members, func(a, b int) int { return cmp.Compare(gpus[a].Name, gpus[b].Name) })
		// A family name doubling as an alias would make Lookup pick one variant
		// where Resolve returns them all; allow it only when there is just one.
		if i, ok := reg.byKey[fam]; ok && (len(members) > 1 || i != members[0]) {
			return nil, fmt.Errorf("GPU %s: alias %q is the name of family %q; only a family's single variant may use it",
				gpus[i].Name, owner[fam], gpus[members[0]].Family)
		}
		family := gpus[members[0]].Family
		reg.suggestions = append(reg.suggestions, newSuggestion(family, family))
	}
	for _, g := range gpus {
		reg.suggestions = append(reg.suggestions, newSuggestion(g.Name, append([]string{g.Name}, g.Aliases...)...))
	}
	return reg, nil
}

// validate checks one entry on its own, including that its canonical name
// follows the maker-model-formfactor-memory scheme its fields describe.
func validate(g GPU) error {
	switch {
	case !canonicalName.MatchString(g.Name):
		return fmt.Errorf("GPU %q: canonical name must match %s", g.Name, canonicalName)
	case strings.TrimSpace(g.Family) == "":
		return fmt.Errorf("GPU %s: empty family", g.Name)
	case g.Maker == "" || g.FormFactor == "":
		return fmt.Errorf("GPU %s: maker and form_factor are required", g.Name)
	case g.MemoryGB <= 0:
		return fmt.Errorf("GPU %s: memory_gb must be positive, got %d", g.Name, g.MemoryGB)
	}
	suffix := "-" + g.FormFactor + "-" + strconv.Itoa(g.MemoryGB) + "gb"
	if !strings.HasPrefix(g.Name, g.Maker+"-") || !strings.HasSuffix(g.Name, suffix) {
		return fmt.Errorf("GPU %s: canonical name must be %s-<model>%s", g.Name, g.Maker, suffix)
	}
	return nil
}

// Lookup finds the GPU a canonical name or vendor alias means (not a family:
// use Resolve for user queries). It ignores case, spaces, '_' and '-', and a
// leading count such as "8x " in descriptions like "8x H100 (80 GB SXM5)".
func (r *Registry) Lookup(name string) (GPU, bool) {
	key := normalize(name)
	i, ok := r.byKey[key]
	if !ok {
		i, ok = r.byKey[trimCount(key)]
	}
	if !ok {
		return GPU{}, false
	}
	return r.gpus[i], true
}

// Resolve turns a user's GPU type into the variants it matches: a family
// gives all its variants (sorted by name), a canonical name or alias gives
// that one. Anything else is an *UnknownGPUError carrying suggestions.
func (r *Registry) Resolve(query string) ([]GPU, error) {
	if members, ok := r.families[normalize(query)]; ok {
		out := make([]GPU, len(members))
		for j, i := range members {
			out[j] = r.gpus[i]
		}
		return out, nil
	}
	if g, ok := r.Lookup(query); ok {
		return []GPU{g}, nil
	}
	return nil, &UnknownGPUError{Name: query, Suggestions: r.Suggest(query, 5)}
}

// Families maps each family to its canonical names, sorted: the body of
// GET /available_gpus. The map is the caller's to keep.
func (r *Registry) Families() map[string][]string {
	out := make(map[string][]string, len(r.families))
	for _, members := range r.families {
		names := make([]string, len(members))
		for j, i := range members {
			names[j] = r.gpus[i].Name
		}
		out[r.gpus[members[0]].Family] = names
	}
	return out
}

// normalize folds the differences vendors' spellings of one name have:
// case, spaces, '_' and '-'.
func normalize(s string) string {
	return strings.Map(func(c rune) rune {
		if c == '-' || c == '_' || unicode.IsSpace(c) {
			return -1
		}
		return unicode.ToLower(c)
	}, s)
}

// trimCount drops a leading GPU count ("8x") from a normalised key.
func trimCount(key string) string {
	digits := len(key) - len(strings.TrimLeft(key, "0123456789"))
	if digits == 0 || digits >= len(key)-1 || key[digits] != 'x' {
		return key
	}
	return key[digits+1:]
}
