package gpus

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestRequiredVariants(t *testing.T) {
	tests := []struct {
		family, name string
		memoryGB     int
		formFactor   string
	}{
		{"B200", "nvidia-b200-sxm6-180gb", 180, "sxm6"},
		{"H200", "nvidia-h200-sxm5-141gb", 141, "sxm5"},
		{"H100", "nvidia-h100-sxm5-80gb", 80, "sxm5"},
		{"H100", "nvidia-h100-pcie-80gb", 80, "pcie"},
		{"H100", "nvidia-h100-nvl-94gb", 94, "nvl"},
		{"GH200", "nvidia-gh200-superchip-96gb", 96, "superchip"},
		{"A100", "nvidia-a100-sxm4-80gb", 80, "sxm4"},
		{"A100", "nvidia-a100-sxm4-40gb", 40, "sxm4"},
		{"A100", "nvidia-a100-pcie-80gb", 80, "pcie"},
		{"A100", "nvidia-a100-pcie-40gb", 40, "pcie"},
		{"L40S", "nvidia-l40s-pcie-48gb", 48, "pcie"},
		{"L40", "nvidia-l40-pcie-48gb", 48, "pcie"},
		{"L4", "nvidia-l4-pcie-24gb", 24, "pcie"},
		{"A10", "nvidia-a10-pcie-24gb", 24, "pcie"},
		{"A40", "nvidia-a40-pcie-48gb", 48, "pcie"},
		{"RTX A6000", "nvidia-rtx-a6000-pcie-48gb", 48, "pcie"},
		{"RTX 6000 Ada", "nvidia-rtx-6000-ada-pcie-48gb", 48, "pcie"},
		{"RTX 4090", "nvidia-rtx-4090-pcie-24gb", 24, "pcie"},
		{"RTX 5090", "nvidia-rtx-5090-pcie-32gb", 32, "pcie"},
		{"V100", "nvidia-v100-sxm2-16gb", 16, "sxm2"},
		{"T4", "nvidia-t4-pcie-16gb", 16, "pcie"},
		{"MI300X", "amd-mi300x-oam-192gb", 192, "oam"},
	}
	families := GPUs().Families()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !slices.Contains(families[tt.family], tt.name) {
				t.Fatalf("family %q = %v, want it to contain %s", tt.family, families[tt.family], tt.name)
			}
			g, ok := GPUs().Lookup(tt.name)
			if !ok {
				t.Fatalf("Lookup(%q) found nothing", tt.name)
			}
			if g.Family != tt.family || g.MemoryGB != tt.memoryGB || g.FormFactor != tt.formFactor {
				t.Errorf("Lookup(%q) = %s/%d GB/%s, want %s/%d GB/%s", tt.name,
					g.Family, g.MemoryGB, g.FormFactor, tt.family, tt.memoryGB, tt.formFactor)
			}
		})
	}
}

func TestEveryNameAndAliasLooksUpToItsGPU(t *testing.T) {
	reg := GPUs()
	seen := 0
	for family, names := range reg.Families() {
		if !slices.IsSorted(names) {
			t.Errorf("family %q names not sorted: %v", family, names)
		}
		for _, name := range names {
			g, ok := reg.Lookup(name)
			if !ok || g.Name != name || g.Family != family {
				t.Fatalf("Lookup(%q) = %+v, %v", name, g, ok)
			}
			seen++
			for _, alias := range append([]string{name}, g.Aliases...) {
				for _, spelling := range []string{alias, strings.ToUpper(alias), strings.ToLower(alias)} {
					if got, ok := reg.Lookup(spelling); !ok || got.Name != name {
						t.Errorf("Lookup(%q) = %q, %v; want %s", spelling, got.Name, ok, name)
					}
				}
			}
		}
	}
	if seen != len(reg.gpus) {
		t.Errorf("families list %d GPUs, registry has %d", seen, len(reg.gpus))
	}
}

func TestLookupIsForgiving(t *testing.T) {
	tests := []struct {
		in, want string // want "" means not found
	}{
		{"nvidia-l40s-48gb", "nvidia-l40s-pcie-48gb"},
		{"NVIDIA-L40S-48GB", "nvidia-l40s-pcie-48gb"},
		{"nvidia_l40s_48gb", "nvidia-l40s-pcie-48gb"},
		{" nvidia l40s 48gb ", "nvidia-l40s-pcie-48gb"},
		{"Nvidia-H100-Sxm5-80GB", "nvidia-h100-sxm5-80gb"},
		{"h100-sxm", "nvidia-h100-sxm5-80gb"},
		{"rtx_6000_ada", "nvidia-rtx-6000-ada-pcie-48gb"},
		{"8x H100 (80 GB SXM5)", "nvidia-h100-sxm5-80gb"},
		{"1x H100 SXM5 80GB", "nvidia-h100-sxm5-80gb"},
		{"H100", ""}, // a family, not a variant
		{"8x", ""},
		{"x", ""},
		{"", ""},
		{"nvidia-h100", ""},
	}
	for _, tt := range tests {
		g, ok := GPUs().Lookup(tt.in)
		if ok != (tt.want != "") || g.Name != tt.want {
			t.Errorf("Lookup(%q) = %q, %v; want %q", tt.in, g.Name, ok, tt.want)
		}
	}
}

// TestVendorSpellings pins the names the vendors' APIs report, which the
// adapters pass straight to Lookup.
func TestVendorSpellings(t *testing.T) {
	tests := []struct{ vendor, in, want string }{
		{"lambda", "H100 (80 GB SXM5)", "nvidia-h100-sxm5-80gb"},
		{"lambda", "H100 (80 GB PCIe)", "nvidia-h100-pcie-80gb"},
		{"lambda", "A100 (40 GB PCIe)", "nvidia-a100-pcie-40gb"},
		{"lambda", "A100 (40 GB SXM4)", "nvidia-a100-sxm4-40gb"},
		{"lambda", "A100 (80 GB SXM4)", "nvidia-a100-sxm4-80gb"},
		{"lambda", "A10 (24 GB PCIe)", "nvidia-a10-pcie-24gb"},
		{"lambda", "GH200 (96 GB)", "nvidia-gh200-superchip-96gb"},
		{"lambda", "B200 (180 GB SXM6)", "nvidia-b200-sxm6-180gb"},
		{"lambda", "RTX 6000 (24 GB)", "nvidia-quadro-rtx-6000-pcie-24gb"},
		{"lambda", "A6000 (48 GB)", "nvidia-rtx-a6000-pcie-48gb"},
		{"lambda", "V100 (16 GB)", "nvidia-v100-sxm2-16gb"},
		{"lambda", "Tesla V100 (16 GB)", "nvidia-v100-sxm2-16gb"},
		{"hyperstack", "A100-80G-PCIe", "nvidia-a100-pcie-80gb"},
		{"hyperstack", "A100-80G-PCIe-NVLink", "nvidia-a100-pcie-80gb"},
		{"hyperstack", "H100-80G-PCIe", "nvidia-h100-pcie-80gb"},
		{"hyperstack", "H100-80G-PCIe-NVLink", "nvidia-h100-pcie-80gb"},
		{"hyperstack", "H100-80G-SXM5", "nvidia-h100-sxm5-80gb"},
		{"hyperstack", "H200-141G-SXM5", "nvidia-h200-sxm5-141gb"},
		{"hyperstack", "L40", "nvidia-l40-pcie-48gb"},
		{"hyperstack", "RTX-A6000", "nvidia-rtx-a6000-pcie-48gb"},
		{"hyperstack", "RTX-A5000", "nvidia-rtx-a5000-pcie-24gb"},
		{"hyperstack", "RTX-A4000", "nvidia-rtx-a4000-pcie-16gb"},
		{"hyperstack", "B200-SXM", "nvidia-b200-sxm6-180gb"},
		{"scaleway", "L4", "nvidia-l4-pcie-24gb"},
		{"scaleway", "L40S", "nvidia-l40s-pcie-48gb"},
		{"runpod", "NVIDIA H100 80GB HBM3", "nvidia-h100-sxm5-80gb"},
		{"runpod", "NVIDIA H100 PCIe", "nvidia-h100-pcie-80gb"},
		{"runpod", "NVIDIA H100 NVL", "nvidia-h100-nvl-94gb"},
		{"runpod", "NVIDIA A100 80GB PCIe", "nvidia-a100-pcie-80gb"},
		{"runpod", "NVIDIA A100-SXM4-80GB", "nvidia-a100-sxm4-80gb"},
		{"runpod", "NVIDIA A100-SXM4-40GB", "nvidia-a100-sxm4-40gb"},
		{"runpod", "NVIDIA GeForce RTX 4090", "nvidia-rtx-4090-pcie-24gb"},
		{"runpod", "NVIDIA GeForce RTX 5090", "nvidia-rtx-5090-pcie-32gb"},
		{"runpod", "NVIDIA RTX A6000", "nvidia-rtx-a6000-pcie-48gb"},
		{"runpod", "NVIDIA L40S", "nvidia-l40s-pcie-48gb"},
		{"runpod", "NVIDIA H200", "nvidia-h200-sxm5-141gb"},
		{"runpod", "NVIDIA H200 NVL", "nvidia-h200-nvl-141gb"},
		{"runpod", "NVIDIA B200", "nvidia-b200-sxm6-180gb"},
		{"runpod", "AMD Instinct MI300X OAM", "amd-mi300x-oam-192gb"},
		{"runpod", "NVIDIA RTX 6000 Ada Generation", "nvidia-rtx-6000-ada-pcie-48gb"},
		{"runpod", "NVIDIA RTX PRO 6000 Blackwell Server Edition", "nvidia-rtx-pro-6000-se-pcie-96gb"},
		{"runpod", "NVIDIA GeForce RTX 3080TI", "nvidia-rtx-3080-ti-pcie-12gb"},
		{"runpod", "NVIDIA  RTX A4500", "nvidia-rtx-a4500-pcie-20gb"},
		{"runpod", "Tesla V100-PCIE-16GB", "nvidia-v100-pcie-16gb"},
		{"runpod", "Tesla V100-SXM2-32GB", "nvidia-v100-sxm2-32gb"},
		{"runpod", "Tesla T4", "nvidia-t4-pcie-16gb"},
		{"digitalocean", "nvidia_h100_80gb", "nvidia-h100-sxm5-80gb"},
		{"digitalocean", "nvidia_h200_141gb", "nvidia-h200-sxm5-141gb"},
		{"digitalocean", "amd_mi300x_192gb", "amd-mi300x-oam-192gb"},
		{"digitalocean", "nvidia_l40s_48gb", "nvidia-l40s-pcie-48gb"},
		{"digitalocean", "nvidia_rtx_4000_ada_20gb", "nvidia-rtx-4000-ada-pcie-20gb"},
		{"digitalocean", "nvidia_rtx_6000_ada_48gb", "nvidia-rtx-6000-ada-pcie-48gb"},
		{"vastai", "H100 SXM", "nvidia-h100-sxm5-80gb"},
		{"vastai", "H100 PCIE", "nvidia-h100-pcie-80gb"},
		{"vastai", "H100 NVL", "nvidia-h100-nvl-94gb"},
		{"vastai", "RTX 4090", "nvidia-rtx-4090-pcie-24gb"},
		{"vastai", "RTX A6000", "nvidia-rtx-a6000-pcie-48gb"},
		{"vastai", "RTX 6000Ada", "nvidia-rtx-6000-ada-pcie-48gb"},
		{"vastai", "L40S", "nvidia-l40s-pcie-48gb"},
		{"vastai", "H200 NVL", "nvidia-h200-nvl-141gb"},
		{"vastai", "RTX 5090", "nvidia-rtx-5090-pcie-32gb"},
		{"vastai", "Tesla T4", "nvidia-t4-pcie-16gb"},
		{"vastai", "Q RTX 6000", "nvidia-quadro-rtx-6000-pcie-24gb"},
		{"vultr", "NVIDIA_A16", "nvidia-a16-pcie-16gb"},
		{"vultr", "NVIDIA_A40", "nvidia-a40-pcie-48gb"},
		{"vultr", "NVIDIA_L40S", "nvidia-l40s-pcie-48gb"},
		{"verda", "1x H100 SXM5 80GB", "nvidia-h100-sxm5-80gb"},
		{"verda", "H200 SXM5 141GB", "nvidia-h200-sxm5-141gb"},
		{"verda", "A100 SXM4 80GB", "nvidia-a100-sxm4-80gb"},
		{"verda", "A100 SXM4 40GB", "nvidia-a100-sxm4-40gb"},
		{"verda", "L40S 48GB", "nvidia-l40s-pcie-48gb"},
		{"verda", "RTX 6000 Ada 48GB", "nvidia-rtx-6000-ada-pcie-48gb"},
		{"verda", "RTX A6000 48GB", "nvidia-rtx-a6000-pcie-48gb"},
		{"verda", "B200 SXM6 180GB", "nvidia-b200-sxm6-180gb"},
		{"verda", "8x B200 SXM6 180GB", "nvidia-b200-sxm6-180gb"},
		{"nebius", "gpu-h100-sxm", "nvidia-h100-sxm5-80gb"},
		{"nebius", "gpu-h200-sxm", "nvidia-h200-sxm5-141gb"},
		{"nebius", "gpu-b200-sxm", "nvidia-b200-sxm6-180gb"},
		{"nebius", "gpu-l40s-a", "nvidia-l40s-pcie-48gb"},
		{"nebius", "gpu-l40s-d", "nvidia-l40s-pcie-48gb"},
	}
	for _, tt := range tests {
		if g, ok := GPUs().Lookup(tt.in); !ok || g.Name != tt.want {
			t.Errorf("%s: Lookup(%q) = %q, %v; want %s", tt.vendor, tt.in, g.Name, ok, tt.want)
		}
	}
}

// TestAmbiguousNamesAreNotAliases: these spellings hide a memory size or form
// factor, so Lookup must not guess; the adapters decide from other fields.
func TestAmbiguousNamesAreNotAliases(t *testing.T) {
	for _, name := range []string{
		"A100", "A100 SXM4", "A100 PCIE", "Tesla V100", "V100", "H100", "H200", "GH200", "P100", "RTX PRO 6000",
	} {
		if g, ok := GPUs().Lookup(name); ok {
			t.Errorf("Lookup(%q) = %s; an ambiguous name must not resolve to one variant", name, g.Name)
		}
	}
}

func TestResolve(t *testing.T) {
	tests := []struct {
		query string
		want  []string
	}{
		{"H100", []string{"nvidia-h100-nvl-94gb", "nvidia-h100-pcie-80gb", "nvidia-h100-sxm5-80gb"}},
		{"h100", []string{"nvidia-h100-nvl-94gb", "nvidia-h100-pcie-80gb", "nvidia-h100-sxm5-80gb"}},
		{"A100", []string{"nvidia-a100-pcie-40gb", "nvidia-a100-pcie-80gb", "nvidia-a100-sxm4-40gb", "nvidia-a100-sxm4-80gb"}},
		{"rtx-4090", []string{"nvidia-rtx-4090-pcie-24gb"}},
		{"L40S", []string{"nvidia-l40s-pcie-48gb"}},
		{"NVIDIA-H100-SXM5-80GB", []string{"nvidia-h100-sxm5-80gb"}},
		{"nvidia-l40s-48gb", []string{"nvidia-l40s-pcie-48gb"}},
		{"H100 (80 GB PCIe)", []string{"nvidia-h100-pcie-80gb"}},
	}
	for _, tt := range tests {
		gpus, err := GPUs().Resolve(tt.query)
		if err != nil {
			t.Errorf("Resolve(%q): %v", tt.query, err)
			continue
		}
		var got []string
		for _, g := range gpus {
			got = append(got, g.Name)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Resolve(%q) = %v, want %v", tt.query, got, tt.want)
		}
	}
}

func TestResolveUnknownSuggests(t *testing.T) {
	_, err := GPUs().Resolve("nvidia-h100-sxm-80gb")
	var unknown *UnknownGPUError
	if !errors.As(err, &unknown) {
		t.Fatalf("Resolve(unknown) error = %v, want *UnknownGPUError", err)
	}
	if unknown.Name != "nvidia-h100-sxm-80gb" || len(unknown.Suggestions) == 0 ||
		unknown.Suggestions[0] != "nvidia-h100-sxm5-80gb" {
		t.Errorf("UnknownGPUError = %+v, want first suggestion nvidia-h100-sxm5-80gb", unknown)
	}
}

func TestSuggest(t *testing.T) {
	tests := []struct {
		query     string
		n         int
		wantFirst []string // the first results, in any order
		wantAlso  []string // further names somewhere in the result
	}{
		{"H10", 5, []string{"H100"}, []string{"nvidia-h100-sxm5-80gb", "nvidia-h100-pcie-80gb", "nvidia-h100-nvl-94gb"}},
		{"nvidia-h100-sxm-80gb", 5, []string{"nvidia-h100-sxm5-80gb"}, nil},
		{"A100-80", 5, []string{"nvidia-a100-sxm4-80gb", "nvidia-a100-pcie-80gb"}, []string{"A100"}},
		{"RTX 409", 3, []string{"RTX 4090", "nvidia-rtx-4090-pcie-24gb"}, nil},
		{"MI300", 3, []string{"MI300X", "amd-mi300x-oam-192gb"}, nil},
		{"h200 sxm", 3, []string{"nvidia-h200-sxm5-141gb"}, nil},
	}
	for _, tt := range tests {
		got := GPUs().Suggest(tt.query, tt.n)
		if len(got) > tt.n || len(got) < len(tt.wantFirst)+len(tt.wantAlso) {
			t.Errorf("Suggest(%q, %d) = %v: wrong length", tt.query, tt.n, got)
			continue
		}
		first := got[:len(tt.wantFirst)]
		for _, w := range tt.wantFirst {
			if !slices.Contains(first, w) {
				t.Errorf("Suggest(%q) = %v, want %s among the first %d", tt.query, got, w, len(tt.wantFirst))
			}
		}
		for _, w := range tt.wantAlso {
			if !slices.Contains(got, w) {
				t.Errorf("Suggest(%q) = %v, want it to contain %s", tt.query, got, w)
			}
		}
	}
}

func TestSuggestNothing(t *testing.T) {
	for _, tt := range []struct {
		query string
		n     int
	}{
		{"potato", 5},
		{"", 5},
		{"H100", 0},
		{strings.Repeat("h100", 1000), 5},
	} {
		if got := GPUs().Suggest(tt.query, tt.n); len(got) != 0 {
			t.Errorf("Suggest(%.20q, %d) = %v, want none", tt.query, tt.n, got)
		}
	}
}

func TestUnknownGPUErrorMessage(t *testing.T) {
	tests := []struct {
		err  UnknownGPUError
		want string
	}{
		{UnknownGPUError{Name: "X", Suggestions: []string{"a", "b", "c"}}, `unknown GPU type "X"; did you mean: a, b, c?`},
		{UnknownGPUError{Name: "potato"}, `unknown GPU type "potato"`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestFamiliesIsACopy(t *testing.T) {
	GPUs().Families()["H100"][0] = "changed"
	if got := GPUs().Families()["H100"][0]; got == "changed" {
		t.Error("Families() shares its slices with the registry")
	}
}

// validEntry is a registry file that Load accepts; the rejection cases below
// each add one fault to it.
const validEntry = `
version: 1
gpus:
  - name: nvidia-h100-sxm5-80gb
    family: H100
    maker: nvidia
    memory_gb: 80
    form_factor: sxm5
    aliases: [H100 SXM, nvidia-h100-80gb-hbm3]
`

func TestLoadAcceptsValidFile(t *testing.T) {
	reg, err := Load(strings.NewReader(validEntry))
	if err != nil {
		t.Fatal(err)
	}
	if g, ok := reg.Lookup("h100-sxm"); !ok || g.MemoryGB != 80 {
		t.Errorf("Lookup(h100-sxm) = %+v, %v", g, ok)
	}
}

func TestLoadRejects(t *testing.T) {
	tests := []struct {
		name, doc, wantErr string
	}{
		{"empty document", ``, "empty document"},
		{"no version", `gpus: []`, "version"},
		{"no gpus", `version: 1`, "no gpus"},
		{"unknown field", validEntry + "    tdp_watts: 700\n", "tdp_watts"},
		{"unknown top-level field", validEntry + "extra: true\n", "extra"},
		{"duplicate alias", validEntry + `
  - name: nvidia-h100-pcie-80gb
    family: H100
    maker: nvidia
    memory_gb: 80
    form_factor: pcie
    aliases: [h100-sxm]
`, "collides"},
		{"alias is another GPU's name", validEntry + `
  - name: nvidia-h100-pcie-80gb
    family: H100
    maker: nvidia
    memory_gb: 80
    form_factor: pcie
    aliases: [NVIDIA H100 SXM5 80GB]
`, "collides"},
		{"duplicate canonical name", validEntry + `
  - name: nvidia-h100-sxm5-80gb
    family: H100
    maker: nvidia
    memory_gb: 80
    form_factor: sxm5
`, "collides"},
		{"upper-case canonical name", `
version: 1
gpus:
  - {name: NVIDIA-H100-SXM5-80GB, family: H100, maker: nvidia, memory_gb: 80, form_factor: sxm5}
`, "canonical name must match"},
		{"canonical name without dashes", `
version: 1
gpus:
  - {name: h100, family: H100, maker: nvidia, memory_gb: 80, form_factor: sxm5}
`, "canonical name must match"},
		{"canonical name off the scheme", `
version: 1
gpus:
  - {name: nvidia-h100-pcie-80gb, family: H100, maker: nvidia, memory_gb: 80, form_factor: sxm5}
`, "canonical name must be"},
		{"zero memory", `
version: 1
gpus:
  - {name: nvidia-h100-sxm5-0gb, family: H100, maker: nvidia, memory_gb: 0, form_factor: sxm5}
`, "memory_gb must be positive"},
		{"empty family", `
version: 1
gpus:
  - {name: nvidia-h100-sxm5-80gb, family: " ", maker: nvidia, memory_gb: 80, form_factor: sxm5}
`, "empty family"},
		{"families differing in spelling only", validEntry + `
  - {name: nvidia-h100-pcie-80gb, family: h-100, maker: nvidia, memory_gb: 80, form_factor: pcie}
`, "family"},
		{"family name as alias of one of several variants", `
version: 1
gpus:
  - {name: nvidia-h100-sxm5-80gb, family: H100, maker: nvidia, memory_gb: 80, form_factor: sxm5, aliases: [H100]}
  - {name: nvidia-h100-pcie-80gb, family: H100, maker: nvidia, memory_gb: 80, form_factor: pcie}
`, "is the name of family"},
		{"family name as alias of another family's GPU", `
version: 1
gpus:
  - {name: nvidia-l4-pcie-24gb, family: L4, maker: nvidia, memory_gb: 24, form_factor: pcie}
  - {name: nvidia-l40-pcie-48gb, family: L40, maker: nvidia, memory_gb: 48, form_factor: pcie, aliases: [L4]}
`, "is the name of family"},
		{"empty alias", `
version: 1
gpus:
  - {name: nvidia-l4-pcie-24gb, family: L4, maker: nvidia, memory_gb: 24, form_factor: pcie, aliases: [" - "]}
`, "empty alias"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(strings.NewReader(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Load error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func FuzzLookup(f *testing.F) {
	for _, seed := range []string{"H100", "8x H100 (80 GB SXM5)", "nvidia-l40s-48gb", "", "9999999x", "ｈ１００", "\xff\xfe", "A100-80"} {
		f.Add(seed)
	}
	reg := GPUs()
	f.Fuzz(func(t *testing.T, name string) {
		if g, ok := reg.Lookup(name); ok {
			if again, ok := reg.Lookup(g.Name); !ok || again.Name != g.Name {
				t.Fatalf("Lookup(%q) = %s, but its canonical name does not look up", name, g.Name)
			}
		}
		gpus, err := reg.Resolve(name)
		if (err == nil) == (len(gpus) == 0) {
			t.Fatalf("Resolve(%q) = %d GPUs, error %v", name, len(gpus), err)
		}
		if got := reg.Suggest(name, 3); len(got) > 3 {
			t.Fatalf("Suggest(%q, 3) = %d names", name, len(got))
		}
	})
}

func BenchmarkLookup(b *testing.B) {
	reg := GPUs()
	names := []string{"NVIDIA H100 80GB HBM3", "H100-80G-PCIe", "A100 (40 GB PCIe)", "nvidia-l40s-pcie-48gb", "8x B200 SXM6 180GB", "no such GPU"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		reg.Lookup(names[i%len(names)])
	}
}

func TestClosest(t *testing.T) {
	names := []string{"vendor", "region", "compute", "network", "limit"}
	for name, want := range map[string]string{
		"regoin":  "region",
		"Region":  "region",
		"LIMIT":   "limit",
		"vendors": "vendor",
		"gpu_cnt": "",
		"x":       "",
		"":        "",
	} {
		if got := Closest(name, names); got != want {
			t.Errorf("Closest(%q) = %q, want %q", name, got, want)
		}
	}
}
