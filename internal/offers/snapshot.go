package offers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/gpusupply/supply/internal/gpus"
	"github.com/gpusupply/supply/internal/vendors"
	"github.com/gpusupply/supply/supplyapi"
)

// A refresh costs what changed, not the catalog: an item the vendor lists
// as before keeps its entry (offer, answer bytes and all), and only new or
// changed items are priced and encoded. A snapshot persists the items alone
// (the offers follow from them, newEntry being a function of the item, the
// vendor and the GPU registry), written without reflection.

// readItem is one offerable item of a vendor's last read, with its entry
// (nil when its GPU is unknown), to tell what the next read changed.
type readItem struct {
	item  *vendors.CatalogItem
	entry *Entry
}

// offerable is the cheap part of the test for an item to be offered (the
// GPU lookup is the rest); items that fail it are neither kept nor
// compared, so a vendor listing every type in every region costs only
// what it has in stock.
func offerable(it *vendors.CatalogItem) bool {
	return it.Available && it.PricePerHour > 0 && it.GPUCount > 0
}

// sameRead reports whether items offer exactly what last did.
func sameRead(last []readItem, items []vendors.CatalogItem) bool {
	j := 0
	for i := range items {
		if !offerable(&items[i]) {
			continue
		}
		if j == len(last) || !sameItem(*last[j].item, items[i]) {
			return false
		}
		j++
	}
	return j == len(last)
}

// diffRead turns a new read into entries, reusing last's entry for every
// item listed as before. Items are matched in order, allowing for one item
// changed, added or removed between matches; past that, through an index of
// last built on first need. An item matched to no old one is new and gets
// a new entry. unknown is called once per new item whose GPU the registry
// does not know.
func diffRead(info vendors.Info, last []readItem, items []vendors.CatalogItem, unknown func(name string)) ([]readItem, []*Entry, error) {
	fresh := make([]*vendors.CatalogItem, 0, len(items))
	for i := range items {
		if offerable(&items[i]) {
			fresh = append(fresh, &items[i])
		}
	}
	read := make([]readItem, 0, len(fresh))
	entries := make([]*Entry, 0, len(fresh))
	same := func(k int, it *vendors.CatalogItem) bool { return k < len(last) && sameItem(*last[k].item, *it) }
	var index map[readKey][]int
	find := func(it *vendors.CatalogItem) int {
		if index == nil {
			index = make(map[readKey][]int, len(last))
			for j, r := range last {
				index[keyOf(r.item)] = append(index[keyOf(r.item)], j)
			}
		}
		for _, j := range index[keyOf(it)] {
			if sameItem(*last[j].item, *it) {
				return j
			}
		}
		return -1
	}
	enc := encoding{last: last}
	strs := map[string]string{}
	k := 0 // last[k] is the old item expected next
	for i, it := range fresh {
		var r readItem
		switch {
		case same(k, it):
			r, k = last[k], k+1
		case same(k+1, it): // last[k] is gone
			r, k = last[k+1], k+2
		case i+1 < len(fresh) && same(k, fresh[i+1]): // it was added
		case i+1 < len(fresh) && same(k+1, fresh[i+1]): // it replaces last[k]
			k++
		default:
			if j := find(it); j >= 0 {
				r, k = last[j], j+1
			}
		}
		if r.item == nil {
			var err error
			if r, err = newReadItem(info, interned(strs, *it), &enc, unknown); err != nil {
				return nil, nil, err
			}
		}
		read = append(read, r)
		if r.entry != nil {
			entries = append(entries, r.entry)
		}
	}
	return read, entries, nil
}

// readKey is what diffRead's index finds an old item by: fields every
// listing has and that tell most listings apart.
type readKey struct {
	instanceType, region string
	contract             vendors.Contract
	price                float64
}

func keyOf(it *vendors.CatalogItem) readKey {
	return readKey{it.InstanceType, it.Region, it.Contract, it.PricePerHour}
}

// interned is it with its most repeated strings (regions, countries, GPU
// names, instance types) shared with the other items of one read that
// spell them alike, rather than one copy per item as decoding makes them.
func interned(strs map[string]string, it vendors.CatalogItem) vendors.CatalogItem {
	for _, p := range []*string{&it.InstanceType, &it.Region, &it.Country, &it.GPUName, (*string)(&it.Contract)} {
		if s, ok := strs[*p]; ok {
			*p = s
		} else {
			strs[*p] = *p
		}
	}
	return it
}

// newReadItem prices and encodes one item.
func newReadItem(info vendors.Info, it vendors.CatalogItem, enc *encoding, unknown func(name string)) (readItem, error) {
	gpu, ok := gpus.GPUs().Lookup(it.GPUName)
	if !ok {
		unknown(it.GPUName)
		kept := it // copied: taking the parameter's address would move it to the heap on every call
		return readItem{item: &kept}, nil
	}
	e, o := newEntry(info, gpu, it)
	if err := enc.encode(e, &o); err != nil {
		return readItem{}, err
	}
	return readItem{item: &e.Item, entry: e}, nil
}

// encoding is the scratch space of encoding many entries, and the answer
// parts they share with each other and with the entries of last.
type encoding struct {
	scratch []byte
	parts   parts
	last    []readItem
}

// encode makes e's answer JSON from o, its offer: its prices in memory of
// its own (entries outlive the refresh that made them one by one, and a
// buffer shared with others would stay whole while any of them lived), the
// rest shared.
func (c *encoding) encode(e *Entry, o *supplyapi.Offer) error {
	if c.parts == nil {
		// Filled on first need: a read that changes nothing encodes nothing.
		c.parts = parts{}
		for _, r := range c.last {
			if r.entry != nil {
				c.parts.add(&r.entry.enc)
			}
		}
	}
	enc, rest, err := encodeOffer(c.scratch, c.parts, o)
	c.scratch = rest
	if err != nil {
		return err
	}
	e.enc = enc
	return nil
}

// readOf is the read a snapshot's entries stand for, so that the first
// refresh after a restart can tell an unchanged catalog.
func readOf(entries []*Entry) []readItem {
	read := make([]readItem, len(entries))
	for i, e := range entries {
		read[i] = readItem{item: &e.Item, entry: e}
	}
	return read
}

// snapshotBody is what a snapshot persists of entries: their items, as a
// JSON object {"items":[...]}, written into one buffer of about sizeHint
// bytes.
func snapshotBody(entries []*Entry, sizeHint int) []byte {
	b := make([]byte, 0, sizeHint+sizeHint/16+1024)
	b = append(b, `{"items":[`...)
	for i, e := range entries {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendItem(b, &e.Item)
	}
	return append(b, "]}"...)
}

// appendItem writes it as encoding/json does.
func appendItem(b []byte, it *vendors.CatalogItem) []byte {
	b = append(b, `{"instance_type":`...)
	b = appendString(b, it.InstanceType)
	b = append(b, `,"region":`...)
	b = appendString(b, it.Region)
	b = append(b, `,"country":`...)
	b = appendString(b, it.Country)
	b = append(b, `,"contract":`...)
	b = appendString(b, string(it.Contract))
	b = append(b, `,"gpu_name":`...)
	b = appendString(b, it.GPUName)
	b = append(b, `,"gpu_count":`...)
	b = appendInt(b, it.GPUCount)
	b = append(b, `,"vcpus":`...)
	b = appendInt(b, it.VCPUs)
	b = append(b, `,"memory_gb":`...)
	b = AppendJSONFloat(b, it.MemoryGB)
	b = append(b, `,"boot_disk_gb":`...)
	b = appendInt(b, it.BootDiskGB)
	b = append(b, `,"price_per_hour":`...)
	b = AppendJSONFloat(b, it.PricePerHour)
	b = append(b, `,"boot_disk_price_per_hour":`...)
	b = AppendJSONFloat(b, it.BootDiskPricePerHour)
	b = append(b, `,"available":`...)
	b = strconv.AppendBool(b, it.Available)
	b = append(b, `,"stock":`...)
	b = appendInt(b, it.Stock)
	if it.Nodes != 0 {
		b = append(b, `,"nodes":`...)
		b = appendInt(b, it.Nodes)
	}
	if it.InfinibandGbps != 0 {
		b = append(b, `,"infiniband_gbps":`...)
		b = appendInt(b, it.InfinibandGbps)
	}
	if it.ClusterStorageGB != 0 {
		b = append(b, `,"cluster_storage_gb":`...)
		b = appendInt(b, it.ClusterStorageGB)
	}
	if it.NoVolumes {
		b = append(b, `,"no_volumes":true`...)
	}
	if len(it.Extra) > 0 {
		b = append(b, `,"extra":{`...)
		for i, k := range slices.Sorted(maps.Keys(it.Extra)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, it.Extra[k])
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// decodeSnapshot reads a snapshot body back into entries, priced again
// from their items: today's bodies hold only the items, and of those
// written before (a JSON array of offers with their items) only the items
// are read.
func decodeSnapshot(info vendors.Info, body []byte) ([]*Entry, error) {
	var items []vendors.CatalogItem
	if bytes.HasPrefix(body, []byte("[")) {
		var old []struct {
			Item vendors.CatalogItem `json:"item"`
		}
		if err := json.Unmarshal(body, &old); err != nil {
			return nil, err
		}
		for _, e := range old {
			items = append(items, e.Item)
		}
	} else {
		var s struct {
			Items []vendors.CatalogItem `json:"items"`
		}
		if err := json.Unmarshal(body, &s); err != nil {
			return nil, err
		}
		items = s.Items
	}
	entries := make([]*Entry, len(items))
	var enc encoding
	for i, it := range items {
		gpu, ok := gpus.GPUs().Lookup(it.GPUName)
		if !ok {
			return nil, fmt.Errorf("item %d: unknown GPU %q", i, it.GPUName)
		}
		e, o := newEntry(info, gpu, it)
		if err := enc.encode(e, &o); err != nil {
			return nil, err
		}
		entries[i] = e
	}
	return entries, nil
}
