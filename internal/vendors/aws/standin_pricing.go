package aws

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// pricing serves the Price List API's GetProducts for AmazonEC2: one
// product document per type the region sells, filtered as asked.
func (s *StandIn) pricing(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Amz-Target") != pricingTarget {
		writeJSONError(w, http.StatusBadRequest, "UnknownOperationException", "Unknown operation "+r.Header.Get("X-Amz-Target"))
		return
	}
	if !s.authorized(r) {
		writeJSONError(w, http.StatusForbidden, "AccessDeniedException", "The security token included in the request is invalid.")
		return
	}
	var req getProductsRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil {
		writeJSONError(w, http.StatusBadRequest, "InvalidParameterException", "Invalid request body: "+err.Error())
		return
	}
	if req.ServiceCode != "AmazonEC2" {
		writeJSONError(w, http.StatusBadRequest, "NotFoundException", "Service "+req.ServiceCode+" not found")
		return
	}
	now := s.Now()
	var docs []string
	for _, name := range slices.Sorted(maps.Keys(s.types)) {
		for _, reg := range s.regions {
			if !s.sells(name, reg.name) || !productMatches(map[string]string{"regionCode": reg.name}, regionFilters(req.Filters)) {
				continue
			}
			doc := s.priceDocument(s.types[name], reg.name, now)
			if productMatches(doc.Product.Attributes, req.Filters) {
				b, _ := json.Marshal(doc)
				docs = append(docs, string(b))
			}
		}
	}
	from, _ := strconv.Atoi(req.NextToken)
	size := req.MaxResults
	if size <= 0 || size > 100 {
		size = 100
	}
	from = min(max0(from), len(docs))
	to := min(from+size, len(docs))
	out := getProductsResponse{FormatVersion: cmp.Or(req.FormatVersion, "aws_v1"), PriceList: docs[from:to]}
	if to < len(docs) {
		out.NextToken = strconv.Itoa(to)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	json.NewEncoder(w).Encode(out)
}

// regionFilters are the filters on the region code, which the stand-in
// applies before it writes a region's documents.
func regionFilters(fs []productFilter) []productFilter {
	var out []productFilter
	for _, f := range fs {
		if f.Field == "regionCode" {
			out = append(out, f)
		}
	}
	return out
}

// productMatches applies GetProducts' filters to a product's attributes:
// TERM_MATCH and EQUALS are equality, CONTAINS a substring, ANY_OF and
// NONE_OF a comma-separated list (the pricing model's FilterType).
func productMatches(attrs map[string]string, fs []productFilter) bool {
	for _, f := range fs {
		v, ok := attrs[f.Field]
		switch f.Type {
		case "CONTAINS":
			ok = ok && strings.Contains(v, f.Value)
		case "ANY_OF":
			ok = ok && slices.Contains(strings.Split(f.Value, ","), v)
		case "NONE_OF":
			ok = !ok || !slices.Contains(strings.Split(f.Value, ","), v)
		default:
			ok = ok && v == f.Value
		}
		if !ok {
			return false
		}
	}
	return true
}

// priceDocument is the Price List's product of type t in region, Linux
// on shared tenancy, with its on-demand hourly price.
func (s *StandIn) priceDocument(t seedType, region string, now time.Time) priceDoc {
	sku := strings.ToUpper(fmt.Sprintf("%016x", fnv64(t.name+"/"+region)))
	price := strconv.FormatFloat(s.onDemandPrice(t, region, now), 'f', 10, 64)
	const term = "JRTCKXETXF" // AWS's offer term code of on-demand
	return priceDoc{
		Product: priceProduct{ProductFamily: "Compute Instance", SKU: sku, Attributes: map[string]string{
			"instanceType": t.name, "regionCode": region, "instanceFamily": "GPU instance", "operatingSystem": "Linux",
			"tenancy": "Shared", "preInstalledSw": "NA", "capacitystatus": "Used", "licenseModel": "No License required",
			"gpu": strconv.Itoa(int(t.gpus)), "vcpu": strconv.Itoa(int(t.vcpus)), "servicecode": "AmazonEC2",
			"memory": fmt.Sprintf("%d GiB", t.memoryMiB/1024),
		}},
		ServiceCode: "AmazonEC2",
		Terms: map[string]priceTerms{"OnDemand": {sku + "." + term: {
			SKU: sku, OfferTermCode: term, EffectiveDate: "2026-11-01T00:00:00Z", TermAttributes: map[string]string{},
			PriceDimensions: map[string]priceDimension{sku + "." + term + ".6YS6EN2CT7": {
				Unit: "Hrs", BeginRange: "0", EndRange: "Inf", RateCode: sku + "." + term + ".6YS6EN2CT7", AppliesTo: []string{},
				Description:  fmt.Sprintf("$%s per On Demand Linux %s Instance Hour", price, t.name),
				PricePerUnit: map[string]string{"USD": price},
			}},
		}}},
		Version: "20261101000000", PublicationDate: "2026-11-01T00:00:00Z",
	}
}
