// Package offers keeps every vendor's catalog in memory and answers offer
// queries from it: filtering, sorting and pricing happen here, never on a
// vendor's time. The offers themselves, and the queries, are package
// supplyapi's types.
package offers
