package offers

import (
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/gpusupply/supply/supplyapi"
)

// The API writes answers without encoding/json: every part of an offer that
// does not depend on the query is encoded once, when its catalog item is
// read, and an answer appends those bytes, the sealed id and the answer's
// two timestamps. The functions here write exactly what encoding/json (with
// HTML escaping off, as huma's JSON format has it) writes for the same
// values; encode_test.go holds them to that over whole catalogs.

// encoded is an offer's JSON without offer_id, created_at, expires_at and
// observed_at, in parts that answers write one after the other: appendTo
// writes every field between offer_id and created_at, each followed by a
// comma, then the answer's two timestamps, then every field between
// expires_at and observed_at, likewise.
//
// Only the two prices are the offer's own; the rest is text shared with
// every offer of the vendor's read that reads alike (see parts): ident
// (GPU, vendor, regions, contract), shape (disk, CPUs, memory, storage)
// and tail (how the offer is deployed, the same for nearly every offer).
type encoded struct {
	// ident runs from "gpu_type" through the key of gpu_price_per_hour,
	// shape from the comma after the GPU price through the key of
	// total_price_per_hour, tail from "deployment_type" through the comma
	// after cluster_storage_gb.
	ident, shape, tail string
	// prices is the GPU price's text then the total price's, apart at split.
	prices string
	split  int
}

// appendTo appends the offer's fields with times (created_at and
// expires_at, each followed by a comma) in their place.
func (e *encoded) appendTo(b, times []byte) []byte {
	b = append(b, e.ident...)
	b = append(b, e.prices[:e.split]...)
	b = append(b, e.shape...)
	b = append(b, e.prices[e.split:]...)
	b = append(b, ',')
	b = append(b, times...)
	return append(b, e.tail...)
}

// encodeOffer encodes the request-independent parts of o, using buf as
// scratch space and sharing the text of parts.
// It fails only on a number JSON cannot hold (NaN, ±Inf).
func encodeOffer(buf []byte, parts parts, o *supplyapi.Offer) (encoded, []byte, error) {
	if err := finite(o); err != nil {
		return encoded{}, buf, err
	}
	b := append(buf[:0], `"gpu_type":`...)
	b = appendString(b, o.GPUType)
	b = append(b, `,"gpu_family":`...)
	b = appendString(b, o.GPUFamily)
	b = append(b, `,"gpu_count":`...)
	b = strconv.AppendInt(b, int64(o.GPUCount), 10)
	b = append(b, `,"vendor":`...)
	b = appendString(b, o.Vendor)
	b = append(b, `,"region":`...)
	b = appendString(b, o.Region)
	b = append(b, `,"vendor_region":`...)
	b = appendString(b, o.VendorRegion)
	b = append(b, `,"country":`...)
	b = appendString(b, o.Country)
	b = append(b, `,"contract_type":`...)
	b = appendString(b, o.ContractType)
	b = append(b, `,"type":`...)
	b = appendString(b, o.Type)
	b = append(b, `,"gpu_price_per_hour":`...)
	identEnd := len(b)
	b = AppendJSONFloat(b, o.GPUPricePerHour)
	priceEnd := len(b)
	b = append(b, `,"boot_disk_in_gb":`...)
	b = appendIntPtr(b, o.BootDiskInGB)
	b = append(b, `,"vcpu_count":`...)
	b = appendIntPtr(b, o.VCPUCount)
	b = append(b, `,"memory_in_gb":`...)
	if o.MemoryInGB == nil {
		b = append(b, "null"...)
	} else {
		b = AppendJSONFloat(b, *o.MemoryInGB)
	}
	b = append(b, `,"storage_details":`...)
	b = appendStorage(b, o.StorageDetails)
	b = append(b, `,"storage_price_per_hour":`...)
	b = AppendJSONFloat(b, o.StoragePricePerHour)
	b = append(b, `,"total_price_per_hour":`...)
	shapeEnd := len(b)
	b = AppendJSONFloat(b, o.TotalPricePerHour)
	totalEnd := len(b)
	b = append(b, `"deployment_type":`...)
	b = appendString(b, o.DeploymentType)
	b = append(b, `,"node_count":`...)
	b = appendIntPtr(b, o.NodeCount)
	b = append(b, `,"gpus_per_node":`...)
	b = appendIntPtr(b, o.GPUsPerNode)
	b = append(b, `,"infiniband_bandwidth_gbps":`...)
	b = appendIntPtr(b, o.InfinibandBandwidthGbps)
	b = append(b, `,"cluster_storage_gb":`...)
	b = appendIntPtr(b, o.ClusterStorageGB)
	b = append(b, ',')
	n := len(b)
	// The prices are copied behind the scratch text so that one string
	// conversion makes them.
	b = append(b, b[identEnd:priceEnd]...)
	b = append(b, b[shapeEnd:totalEnd]...)
	return encoded{
		ident:  parts.text(b[:identEnd]),
		shape:  parts.text(b[priceEnd:shapeEnd]),
		tail:   parts.text(b[totalEnd:n]),
		prices: string(b[n:]),
		split:  priceEnd - identEnd,
	}, b, nil
}

// parts is the text of answer parts already made, so that offers that
// read alike share one copy. A refresh fills one with the parts of the
// vendor's last read (add) before it encodes the new items, and drops it
// after: nothing outlives the entries that use it.
type parts map[string]string

// text is b as a string, the copy in p when there is one (a lookup that
// does not copy b), else a new one kept there.
func (p parts) text(b []byte) string {
	if s, ok := p[string(b)]; ok {
		return s
	}
	s := string(b)
	p[s] = s
	return s
}

// add makes e's parts shared with what is encoded next.
func (p parts) add(e *encoded) {
	for _, s := range [3]string{e.ident, e.shape, e.tail} {
		p[s] = s
	}
}

// finite reports a number of o that JSON cannot hold, as encoding/json
// refuses it.
func finite(o *supplyapi.Offer) error {
	bad := func(f float64) bool { return math.IsNaN(f) || math.IsInf(f, 0) }
	ok := !bad(o.GPUPricePerHour) && !bad(o.StoragePricePerHour) && !bad(o.TotalPricePerHour) &&
		(o.MemoryInGB == nil || !bad(*o.MemoryInGB))
	for _, s := range o.StorageDetails {
		ok = ok && !bad(s.PricePerGBMonth) && !bad(s.MonthlyCost) && !bad(s.HourlyCost)
	}
	if !ok {
		return fmt.Errorf("encode offer %s/%s: a price or size is not a finite number", o.Vendor, o.GPUType)
	}
	return nil
}

func appendStorage(b []byte, ds []supplyapi.StorageDetail) []byte {
	if ds == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range ds {
		d := &ds[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendString(b, d.Name)
		b = append(b, `,"size_gb":`...)
		b = strconv.AppendInt(b, int64(d.SizeGB), 10)
		b = append(b, `,"type":`...)
		b = appendString(b, d.Type)
		b = append(b, `,"storage_class":`...)
		b = appendString(b, d.StorageClass)
		b = append(b, `,"vendor_class":`...)
		b = appendString(b, d.VendorClass)
		b = append(b, `,"vendor_region":`...)
		b = appendString(b, d.VendorRegion)
		b = append(b, `,"price_per_gb_month":`...)
		b = AppendJSONFloat(b, d.PricePerGBMonth)
		b = append(b, `,"monthly_cost":`...)
		b = AppendJSONFloat(b, d.MonthlyCost)
		b = append(b, `,"hourly_cost":`...)
		b = AppendJSONFloat(b, d.HourlyCost)
		b = append(b, `,"persistent":`...)
		b = strconv.AppendBool(b, d.Persistent)
		b = append(b, '}')
	}
	return append(b, ']')
}

func appendIntPtr(b []byte, p *int) []byte {
	if p == nil {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, int64(*p), 10)
}

// AppendJSONFloat appends f as encoding/json writes a float64: the
// shortest decimal that reads back as f, in exponent form only below 1e-6
// or from 1e21 up, with a one-digit negative exponent written without its
// leading zero. f must be finite. Answers written from pre-encoded bytes
// use it for the numbers they add (here, and the API's resource costs).
func AppendJSONFloat(b []byte, f float64) []byte {
	format := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string the way encoding/json does with
// HTML escaping off: quotes, backslashes and control characters escaped,
// invalid UTF-8 as U+FFFD, and U+2028 and U+2029 escaped for JavaScript.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendTime writes t as time.Time's MarshalJSON does (RFC 3339 with as
// many fractional digits as needed), for years 0 to 9999.
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// appendUUID writes id as a JSON string in its canonical text form.
func appendUUID(b []byte, id uuid.UUID) []byte {
	b = append(b, '"')
	n := len(b)
	b = append(b, "00000000-0000-0000-0000-000000000000"...)
	dst := b[n:]
	hex.Encode(dst[0:8], id[0:4])
	hex.Encode(dst[9:13], id[4:6])
	hex.Encode(dst[14:18], id[6:8])
	hex.Encode(dst[19:23], id[8:10])
	hex.Encode(dst[24:36], id[10:16])
	return append(b, '"')
}

// appendFilters writes filters_applied as encoding/json writes a map: keys
// sorted. Its values are the few kinds filtersApplied puts there.
func appendFilters(b []byte, f map[string]any) ([]byte, error) {
	if f == nil {
		return append(b, "null"...), nil
	}
	var keyBuf [16]string
	keys := keyBuf[:0]
	for k := range f {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		switch v := f[k].(type) {
		case string:
			b = appendString(b, v)
		case int:
			b = strconv.AppendInt(b, int64(v), 10)
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return b, fmt.Errorf("encode filters_applied: %s: unsupported number %v", k, v)
			}
			b = AppendJSONFloat(b, v)
		case bool:
			b = strconv.AppendBool(b, v)
		case []string:
			if v == nil {
				b = append(b, "null"...)
				continue
			}
			b = append(b, '[')
			for j, s := range v {
				if j > 0 {
					b = append(b, ',')
				}
				b = appendString(b, s)
			}
			b = append(b, ']')
		default:
			return b, fmt.Errorf("encode filters_applied: %s: unsupported value type %T", k, v)
		}
	}
	return append(b, '}'), nil
}

func appendInt(b []byte, n int) []byte { return strconv.AppendInt(b, int64(n), 10) }
