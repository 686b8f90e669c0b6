package offers

// inRegion is the entries of es in the vendor region whose machines can
// have the region's volumes attached (not Item.NoVolumes), in their
// order: the offers a volume there can be attached to.
func inRegion(es []*viewEntry, region string) []*viewEntry {
	var out []*viewEntry
	for _, e := range es {
		if e.Item.Region == region && !e.Item.NoVolumes {
			out = append(out, e)
		}
	}
	return out
}
