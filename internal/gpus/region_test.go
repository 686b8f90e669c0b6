package gpus

import (
	"slices"
	"strings"
	"testing"
)

// officialAlpha2 is every officially assigned ISO 3166-1 alpha-2 code (249).
const officialAlpha2 = `
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ
BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ
DE DJ DK DM DO DZ
EC EE EG EH ER ES ET
FI FJ FK FM FO FR
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY
HK HM HN HR HT HU
ID IE IL IM IN IO IQ IR IS IT
JE JM JO JP
KE KG KH KI KM KN KP KR KW KY KZ
LA LB LC LI LK LR LS LT LU LV LY
MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ
NA NC NE NF NG NI NL NO NP NR NU NZ
OM
PA PE PF PG PH PK PL PM PN PR PS PT PW PY
QA
RE RO RS RU RW
SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ
TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ
UA UG UM US UY UZ
VA VC VE VG VI VN VU
WF WS
YE YT
ZA ZM ZW
`

// extraCodes are not assigned to a country by ISO but used by vendors.
var extraCodes = []string{"UK", "EL", "XK"}

func TestEveryCountryHasAGroup(t *testing.T) {
	official := strings.Fields(officialAlpha2)
	if len(official) != 249 {
		t.Fatalf("test list has %d codes, want 249", len(official))
	}
	table := regions()
	for _, code := range official {
		if _, ok := table[code]; !ok {
			t.Errorf("%s has no region group", code)
		}
	}
	for code := range table {
		if !slices.Contains(official, code) && !slices.Contains(extraCodes, code) {
			t.Errorf("%s in the region table is not an ISO 3166-1 alpha-2 code", code)
		}
	}
}

func TestGroupOf(t *testing.T) {
	tests := []struct {
		codes []string
		want  RegionGroup
	}{
		{[]string{"US", "us", " Us "}, US},
		{[]string{"DE", "FR", "GB", "NO", "CH", "IS", "IE", "NL", "PL", "CY", "RU", "UA", "UK", "gb", "no"}, EU},
		{[]string{"JP", "KR", "SG", "IN", "AU", "NZ", "TW", "HK", "CN", "ID", "KZ", "jp"}, APAC},
		{[]string{"CA", "BR", "AE", "ZA", "MX", "AR", "IL", "SA", "TR", "IR", "EG", "NG", "PR", "ca"}, Other},
		{[]string{"ZZ", "XX", "USA", "EU", ""}, Other}, // not country codes
	}
	for _, tt := range tests {
		for _, code := range tt.codes {
			if got := GroupOf(code); got != tt.want {
				t.Errorf("GroupOf(%q) = %s, want %s", code, got, tt.want)
			}
		}
	}
}

func TestRegionGroups(t *testing.T) {
	if got := RegionGroups(); !slices.Equal(got, []RegionGroup{"US", "EU", "APAC", "Other"}) {
		t.Errorf("RegionGroups() = %v", got)
	}
	tests := []struct {
		in   string
		want RegionGroup
		ok   bool
	}{
		{"US", US, true}, {"eu", EU, true}, {"Apac", APAC, true}, {"OTHER", Other, true},
		{"", "", false}, {"Europe", "", false}, {"DE", "", false},
	}
	for _, tt := range tests {
		if got, ok := ParseRegionGroup(tt.in); got != tt.want || ok != tt.ok {
			t.Errorf("ParseRegionGroup(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestLoadRegions(t *testing.T) {
	table, err := loadRegions(strings.NewReader("version: 1\ngroups: {US: [US], EU: [DE, 'NO'], APAC: [JP], Other: [CA]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(table) != 5 || table["NO"] != EU || table["JP"] != APAC {
		t.Errorf("loadRegions = %v", table)
	}
	tests := []struct {
		name, doc, wantErr string
	}{
		{"empty document", "", "empty document"},
		{"no version", "groups: {US: [US]}\n", "version"},
		{"unknown group", "version: 1\ngroups: {US: [US], LATAM: [BR]}\n", "LATAM"},
		{"unknown field", "version: 1\ncountries: []\n", "countries"},
		{"code in two groups", "version: 1\ngroups: {US: [US], Other: [US]}\n", "both"},
		{"lower-case code", "version: 1\ngroups: {EU: [de]}\n", "alpha-2"},
		{"three-letter code", "version: 1\ngroups: {US: [USA]}\n", "alpha-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadRegions(strings.NewReader(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("loadRegions error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
