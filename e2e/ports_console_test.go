package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/supplyapi"
)

// TestConsoleOpensAPort: in a browser, the rent dialog's Open ports field
// opens a port on the machine, the Machines page links to it as
// http://host:port, and the link opens the sandbox port's page. The same
// dialog lists the account's volumes where the offer is, and the one
// ticked is attached to the machine.
func TestConsoleOpensAPort(t *testing.T) {
	browser := chromium(t)
	s := Start(t, store.EngineSQLite, "--sandbox-boot-time", "1s")
	s.WaitVendors(t)
	// A volume in each region Lambda sells H100 in: whichever offer is
	// cheapest when the browser asks, one of them fits it.
	var res supplyapi.OfferResult
	s.JSON(t, http.MethodPost, "/get_offers", "application/json", []byte(`{"compute":{"gpu_type":"H100"},"vendor":"lambda","limit":100}`), http.StatusOK, &res)
	made := map[string]bool{}
	for _, o := range res.Offers {
		if made[o.VendorRegion] {
			continue
		}
		made[o.VendorRegion] = true
		body, _ := json.Marshal(supplyapi.VolumeRequest{Vendor: "lambda", Region: o.VendorRegion, SizeGB: 10, Name: "data-" + o.VendorRegion})
		var v supplyapi.Volume
		s.JSON(t, http.MethodPost, "/volumes", "application/json", body, http.StatusCreated, &v)
		waitVolume(t, s, v.ID, "available")
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(browser), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 800))
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(alloc)
	defer cancelCtx()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v\nserver log:\n%s", what, err, s.tail())
		}
	}
	poll := func(what, expr string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Poll[string](expr, chromedp.WithPollingTimeout(60*time.Second), chromedp.WithPollingInterval(100*time.Millisecond)))
		if err != nil {
			t.Fatalf("%s: %v\nserver log:\n%s", what, err, s.tail())
		}
		return v
	}

	do("sign in", chromedp.Navigate(s.URL+"/signin"), chromedp.WaitVisible(css("#api_key")),
		chromedp.SetValue(css("#api_key"), s.Key), chromedp.Submit(css("#api_key")),
		chromedp.WaitReady(css(`#q-gpu option[value="H100"]`)), chromedp.WaitReady(css(`#q-vendor option[value="lambda"]`)))
	do("search", chromedp.SetValue(css("#q-gpu"), "H100"), chromedp.SetValue(css("#q-vendor"), "lambda"),
		chromedp.Click(css("#search")), chromedp.WaitVisible(css("#offers tbody tr")))
	do("rent", chromedp.Click(css("#offers tbody tr:nth-child(1) button")), chromedp.WaitVisible(css("#rent-ports")),
		chromedp.SetValue(css("#rent-key"), consoleSSHKey), chromedp.SetValue(css("#rent-ports"), "8888"))
	if n := poll("the offer's volumes", `String(document.querySelectorAll("#rent-volume-list input").length || "")`); n != "1" {
		t.Fatalf("the dialog lists %s volumes, want the one in the offer's region", n)
	}
	picked := poll("the volume", `document.querySelector("#rent-volume-list input").value`)
	do("tick the volume", chromedp.Click(css("#rent-volume-list input")))
	if fb := poll("fallback off", `document.getElementById("rent-fallback").checked ? "" : "off"`); fb != "off" {
		t.Fatal("the fallback stays ticked beside a volume")
	}
	do("rent go", chromedp.Click(css("#rent-go")))
	if out := poll("ready", `(() => { const e = document.getElementById("rent-error");
		if (!e.hidden) return "error: " + e.textContent;
		const p = document.getElementById("progress-error");
		if (!p.hidden) return "failed: " + p.textContent;
		return document.getElementById("ssh").hidden ? "" : "ready"; })()`); out != "ready" {
		t.Fatalf("renting with a port: %s", out)
	}
	var attached supplyapi.Volume
	s.JSON(t, http.MethodGet, "/volumes/"+picked, "", nil, http.StatusOK, &attached)
	if attached.Status != "attached" || attached.AttachedTo == nil {
		t.Errorf("the volume ticked in the dialog: %+v, want it attached to the machine", attached)
	}
	do("machines", chromedp.Navigate(s.URL+"/machines"), chromedp.WaitVisible(css("#machines ul.ports a")))
	link := poll("port link", `document.querySelector("#machines ul.ports a").href`)
	label := poll("port label", `document.querySelector("#machines ul.ports a").textContent`)
	if !strings.HasPrefix(link, "http://127.1.") || !strings.HasSuffix(link, ":8888/") || !strings.HasPrefix(label, "8888 → 127.1.") {
		t.Fatalf("the port's link is %q (%q)", link, label)
	}
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "port 8888/tcp") {
		t.Errorf("following the link: %d %q", resp.StatusCode, page)
	}
}
