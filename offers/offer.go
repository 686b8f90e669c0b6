// Package offers keeps every vendor's catalog in memory and answers offer
// queries from it: filtering, sorting and pricing happen here, never on a
// vendor's time. The offers themselves, and the queries, are package
// supplyapi's types.
package offers

import "github.com/gpusupply/supply/supplyapi"

// Query, Compute, Network and Result are the supplyapi types under their
// names of before the wire types moved there, kept only because the
// sandbox's tests (package sandbox, being reworked apart) still name them;
// nothing else may use them, and they go when those tests name supplyapi's.
type (
	//go:fix inline
	Query = supplyapi.OfferQuery
	//go:fix inline
	Compute = supplyapi.OfferQueryCompute
	//go:fix inline
	Network = supplyapi.OfferQueryNetwork
	//go:fix inline
	Result = supplyapi.OfferResult
)
