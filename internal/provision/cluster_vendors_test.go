package provision_test

// clusterVendors are the sandbox vendors that sell cluster offers.
var clusterVendors = []string{"runpod", "nebius"}
