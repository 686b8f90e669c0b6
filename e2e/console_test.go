package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/gpusupply/supply/internal/store"
	"github.com/gpusupply/supply/supplyapi"
)

// consoleSSHKey is the public key the browser test rents with.
const consoleSSHKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZ1c3VwcGx5dGVzdGtleWZvcnByb3Zpc2lvbmluZzAx console@test"

// chromium finds the browser, or skips the test when there is none and
// SUPPLY_TEST_REQUIRE_BROWSER is not 1 (CI sets it after installing
// Debian's chromium).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("SUPPLY_TEST_REQUIRE_BROWSER") == "1" {
		t.Fatal("no chromium on PATH and SUPPLY_TEST_REQUIRE_BROWSER=1")
	}
	t.Skip("no chromium on PATH (set SUPPLY_TEST_REQUIRE_BROWSER=1 to make this a failure)")
	return ""
}

// screenshots is where the test saves a picture of each page:
// SUPPLY_TEST_SCREENSHOTS, or a temporary directory.
func screenshots(t *testing.T) string {
	if dir := os.Getenv("SUPPLY_TEST_SCREENSHOTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	return t.TempDir()
}

var sshCommandRE = regexp.MustCompile(`^ssh root@(\S+?)(?: -p (\d+))?$`)

// machineName is the name the browser test rents with: as long as the
// names people give (a whole column's worth), so that the Machines page
// must make room for it.
const machineName = "console-test-finetune-llama-70b-2026-12-07-eu-checkpoint-resume"

// layoutProblems lists, in the page, what does not fit its window: the
// page scrolling sideways, and every button (or link that looks like one)
// that is shown but not wholly inside the window's width, whether the page
// or a box within it would have to scroll to reach it.
const layoutProblems = `(() => {
	const out = [], w = window.innerWidth, sw = document.documentElement.scrollWidth;
	if (sw > w) out.push("the page scrolls sideways: " + sw + " px wide in a " + w + " px window");
	for (const b of document.querySelectorAll("button, a.button, input[type=submit]")) {
		if (!b.getClientRects().length) continue;
		const r = b.getBoundingClientRect();
		if (r.left < 0 || r.right > w + 0.5) {
			out.push("the button " + JSON.stringify((b.getAttribute("aria-label") || b.textContent).trim()) + " is at " + Math.round(r.left) + "–" + Math.round(r.right) + " px");
		}
	}
	return out;
})()`

// hiddenColumns lists the columns of a table whose header is not shown
// whole inside the window.
const hiddenColumns = `((sel) => Array.from(document.querySelectorAll(sel + " thead th"), (th) => {
	const r = th.getBoundingClientRect();
	return th.getClientRects().length && r.left >= 0 && r.right <= window.innerWidth + 0.5 ? "" : th.textContent.trim() || "(the action column)";
}).filter(Boolean))`

// machineRow describes a machine's row on the Machines page: its state,
// whether it shows an ssh line and a Delete button, and its auto-delete
// cell ("" while the row is not there).
const machineRow = `((id) => {
	const state = document.querySelector('#machines .state[data-id="' + id + '"]');
	if (!state) return "";
	const tr = state.closest("tr");
	return [state.textContent, tr.querySelector("code") ? "ssh " + tr.querySelector("code").textContent : "no ssh",
		tr.querySelector("button") ? "button " + tr.querySelector("button").textContent : "no button",
		"auto-delete " + tr.querySelector("td.when").textContent].join(" | ");
})`

// TestConsoleInABrowser drives the web console in headless Chromium
// against the real binary in sandbox mode, as a person would, on a laptop
// (1280×800) and then on a phone (390×844): sign in, find an H100, rent
// the cheapest, which its vendor has just sold (the catalog, read once an
// hour here, still lists it), watch the dialog show the refusal and end
// ready at the next cheapest, reach its SSH port, delete it, sign out;
// on the phone, rent and list again. Every page, and every dialog open,
// must fit the window: nothing scrolls sideways and every button is inside
// it; Offers and Machines show every column at 1280 px. A deleted machine
// shows no ssh line, no Delete button and no auto-delete time.
func TestConsoleInABrowser(t *testing.T) {
	browser := chromium(t)
	s := Start(t, store.EngineSQLite, "--sandbox-boot-time", "1s", "--catalog-refresh", "1h")
	s.WaitVendors(t)
	region, sold := soldOut(t, s)
	shots := screenshots(t)
	var vendors []struct {
		Name        string `json:"name"`
		DisplayName string `json:"display_name"`
	}
	s.JSON(t, http.MethodGet, "/available_vendors", "", nil, http.StatusOK, &vendors)
	displayName := map[string]string{}
	for _, v := range vendors {
		displayName[v.Name] = v.DisplayName
	}

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(browser),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 800),
	)
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(alloc)
	defer cancelCtx()
	ctx, cancel := context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()

	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v\nserver log:\n%s", what, err, s.tail())
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return v
	}
	location := func() string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatalf("location: %v", err)
		}
		return v
	}
	// size is the window's, as last emulated.
	size := "1280×800"
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// eval evaluates a JavaScript expression.
	eval := func(what, expr string) []string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](expr))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
	// fits fails the test for whatever on the page does not fit the
	// window, and keeps a picture of the page.
	fits := func(what string) {
		t.Helper()
		if problems := eval("layout of "+what, layoutProblems); len(problems) > 0 {
			t.Errorf("%s at %s: %s", what, size, strings.Join(problems, "; "))
		}
		shot(strings.ReplaceAll(what, " ", "-"))
	}
	// everyColumn fails the test for the columns of a page's table that
	// the window cuts off.
	everyColumn := func(page, table string) {
		t.Helper()
		if cut := eval("columns of "+page, `(`+hiddenColumns+`)("`+table+`")`); len(cut) > 0 {
			t.Errorf("at %s the %s page cuts off the columns %q", size, page, cut)
		}
	}
	// poll evaluates a JavaScript expression until it yields a non-empty
	// string.
	poll := func(what, expr string, timeout time.Duration) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Poll[string](expr, chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(100*time.Millisecond)))
		if err != nil {
			t.Fatalf("%s: %v\nserver log:\n%s", what, err, s.tail())
		}
		return v
	}
	// fetchStatus runs a fetch in the page and returns its status code.
	fetchStatus := func(what, script string) int {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[int](script, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	// searchAt finds the on-demand (the default) H100s of a region group
	// and, unless vendor is "", a vendor, cheapest first.
	searchAt := func(group, vendor string) {
		t.Helper()
		do("search", chromedp.Navigate(s.URL+"/"), chromedp.WaitReady(css(`#q-gpu option[value="H100"]`)),
			chromedp.SetValue(css("#q-gpu"), "H100"), chromedp.SetValue(css("#q-region"), group), chromedp.SetValue(css("#q-vendor"), vendor),
			chromedp.Click(css("#search")), chromedp.WaitVisible(css("#offers tbody tr")))
	}
	// search finds the on-demand H100s of the region the test rents in.
	search := func() { t.Helper(); searchAt(region, "") }
	// createVolume makes a volume at Lambda from the Storage page's form
	// and waits until the page lists it available.
	createVolume := func() {
		t.Helper()
		do("create volume", chromedp.Navigate(s.URL+"/storage"), chromedp.WaitVisible(css("#create-volume")),
			chromedp.SetValue(css(`#create-volume input[name="vendor"]`), "lambda"),
			chromedp.SetValue(css(`#create-volume input[name="region"]`), "us-east-1"),
			chromedp.Click(css(`#create-volume button[type="submit"]`)))
		poll("volume available", `Array.from(document.querySelectorAll("#volumes tbody .state")).some(s => s.textContent === "available") ? "yes" : ""`, 30*time.Second)
	}
	// gone checks that a deleted machine's row shows no way in, nothing
	// to delete and no auto-delete time.
	gone := func(id string) {
		t.Helper()
		row := poll("deleted machine", `(() => { const row = (`+machineRow+`)("`+id+`"); return row.startsWith("deleted ") ? row : ""; })()`, 60*time.Second)
		if row != "deleted | no ssh | no button | auto-delete –" {
			t.Errorf("at %s the deleted machine's row reads %q, want no ssh line, no Delete button and no auto-delete time", size, row)
		}
	}

	// Not signed in: the console sends the browser to the sign-in form.
	do("open console", chromedp.EmulateViewport(1280, 800), chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(css("#api_key")))
	if loc := location(); loc != s.URL+"/signin" {
		t.Fatalf("not signed in, / went to %s, want /signin", loc)
	}

	// A wrong key is refused in words.
	do("wrong key", chromedp.SendKeys(css("#api_key"), "sk_supply_thisIsNotAKeyThatExistsAnywhere000000"), chromedp.Submit(css("#api_key")),
		chromedp.WaitVisible(css("#signin-error")))
	if msg := text("#signin-error"); !strings.Contains(msg, "not valid") {
		t.Fatalf("wrong key: the page says %q", msg)
	}
	fits("signin error")

	// The right key signs in; the cookie is HttpOnly and SameSite=Strict
	// and the key is in no address the browser visited.
	do("sign in", chromedp.SetValue(css("#api_key"), s.Key), chromedp.Submit(css("#api_key")),
		chromedp.WaitReady(css(`#q-gpu option[value="H100"]`)))
	if loc := location(); loc != s.URL+"/" || strings.Contains(loc, s.Key) {
		t.Fatalf("after sign-in the browser is at %s", loc)
	}
	cookies, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{})
	if err != nil {
		t.Fatal(err)
	}
	var session *network.Cookie
	for _, c := range cookies.Cookies {
		if c.Name == "supply_session" {
			session = c
		}
	}
	if session == nil || !session.HTTPOnly || session.SameSite != network.CookieSameSiteStrict || strings.Contains(session.Value, s.Key) {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, without the key", session)
	}

	// H100 in a region, on-demand (the default), cheapest first, prices
	// in cents with the exact figure on hover, vendors by name.
	search()
	prices := eval("prices", `Array.from(document.querySelectorAll("#offers tbody tr td:first-child"), td => td.textContent + " " + td.title)`)
	if len(prices) < 3 {
		t.Fatalf("%d H100 offers in %s, want several", len(prices), region)
	}
	for i := range prices {
		if !regexp.MustCompile(`^\$\d+\.\d\d \$[0-9.]+ exactly$`).MatchString(prices[i]) {
			t.Errorf("a price reads %q, want dollars and cents, and the exact figure on hover", prices[i])
		}
		if i > 0 && price(t, prices[i]) < price(t, prices[i-1]) {
			t.Fatalf("offers not sorted by price: %v", prices)
		}
	}
	everyColumn("Offers", "#offers")
	fits("offers")

	// Rent the cheapest, sold out at its vendor. A key that is not an SSH
	// public key is refused in words first, and nothing is rented.
	if first := text("#offers tbody tr:nth-child(1)"); !strings.Contains(first, displayName[sold.Vendor]) || !strings.Contains(first, sold.VendorRegion) ||
		!strings.Contains(first, "On-demand") {
		t.Fatalf("the cheapest offer shown is %q, want %s %s's, on demand", first, displayName[sold.Vendor], sold.VendorRegion)
	}
	do("open rent", chromedp.Click(css("#offers tbody tr:nth-child(1) button")), chromedp.WaitVisible(css("#rent-key")))
	if on, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("rent-fallback").checked`)); err != nil || !on {
		t.Fatalf("the fallback box is not ticked by default (%v)", err)
	}
	do("bad ssh key", chromedp.SetValue(css("#rent-key"), "not a key"), chromedp.Click(css("#rent-go")))
	msg := poll("bad ssh key", `(() => { const e = document.getElementById("rent-error"); return e.hidden ? "" : e.textContent; })()`, 10*time.Second)
	if !strings.HasPrefix(msg, "SSH public key is not an OpenSSH public key: ") {
		t.Fatalf("renting with a bad SSH key, the dialog says %q, want it in the form's words", msg)
	}
	do("fill rent", chromedp.SetValue(css("#rent-key"), consoleSSHKey), chromedp.SetValue(css("#rent-name"), machineName),
		chromedp.SetValue(css("#rent-autodelete"), "8h"))
	fits("rent")
	do("rent", chromedp.Click(css("#rent-go")))
	if out := poll("procure", `(() => { const e = document.getElementById("rent-error");
		if (!e.hidden) return "error: " + e.textContent;
		return document.getElementById("progress").hidden ? "" : "started"; })()`, 30*time.Second); out != "started" {
		t.Fatalf("renting the cheapest offer: %s", out)
	}
	// Under way, the procurement can be cancelled (the machine takes a
	// second to boot, so its first status is never ready).
	if out := poll("cancel shown", `(() => { if (!document.getElementById("ssh").hidden) return "ready first";
		return document.getElementById("rent-cancel").hidden ? "" : "shown"; })()`, 10*time.Second); out != "shown" {
		t.Fatalf("the Cancel button while procuring: %s", out)
	}
	out := poll("wait for ready", `(() => { const e = document.getElementById("progress-error");
		if (!e.hidden) return "failed: " + e.textContent;
		return document.getElementById("ssh").hidden ? "" : "ready"; })()`, 90*time.Second)
	if out != "ready" {
		t.Fatalf("procurement: %s", out)
	}
	if progress := text("#progress-status"); !strings.Contains(progress, "1/1 instances running") {
		t.Fatalf("progress says %q", progress)
	}
	// The dialog lists the refusal, in the vendor's classified words, and
	// the offer that was rented instead.
	tries := eval("tries", `Array.from(document.querySelectorAll("#attempts li"), li => li.textContent)`)
	if len(tries) < 2 || !strings.HasPrefix(tries[0], displayName[sold.Vendor]+" "+sold.VendorRegion+" · ") || !strings.Contains(tries[0], "refused") ||
		!strings.Contains(tries[0], "no capacity") || !strings.Contains(tries[len(tries)-1], "ready") {
		t.Fatalf("the dialog lists the tries %q, want %s %s refused for lack of capacity first, and ready last", tries, displayName[sold.Vendor], sold.VendorRegion)
	}
	if cancel, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("rent-cancel").hidden`)); err != nil || !cancel {
		t.Errorf("the Cancel button is shown once the machine is ready (%v)", err)
	}
	sshCommand := strings.TrimSpace(text("#ssh-command"))
	fits("rent ready")
	m := sshCommandRE.FindStringSubmatch(sshCommand)
	if m == nil {
		t.Fatalf("ssh command on the page %q", sshCommand)
	}
	port := m[2]
	if port == "" {
		port = "22"
	}
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(m[1], port), 5*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", sshCommand, err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	banner, err := bufio.NewReader(conn).ReadString('\n')
	conn.Close()
	if !strings.HasPrefix(banner, "SSH-2.0-") {
		t.Fatalf("%s answers %q, %v; want an SSH banner", sshCommand, banner, err)
	}

	// The machine is listed, running, with its SSH command, and every
	// column fits the window.
	do("machines", chromedp.Navigate(s.URL+"/machines"), chromedp.WaitVisible(css("#machines tbody tr .state-running")))
	// The machine was rented with "Delete after 8h": its auto-delete is
	// shown counting down, and its cost is the API's accrued_cost, in
	// cents, never $0.00.
	id := poll("resource id", `document.querySelector("#machines tbody .state").dataset.id || ""`, 5*time.Second)
	if row := poll("machine row", `(`+machineRow+`)("`+id+`")`, 5*time.Second); row != "running | ssh "+sshCommand+" | button Delete | auto-delete in 7 h 59 min" {
		t.Errorf("the running machine's row reads %q", row)
	}
	if listed := text("#machines tbody"); !strings.Contains(listed, machineName) || !regexp.MustCompile(`(<\$0\.01|\$0\.0[1-9])`).MatchString(listed) {
		t.Fatalf("machines page lists %q", listed)
	}
	everyColumn("Machines", "#machines")
	fits("machines")

	// A request with the session but without the page's CSRF token, or
	// with a forged one, changes nothing: 403. One without the cookie is
	// 401. The browser's own fetch shows it as the page would meet it.
	for _, c := range []struct {
		name, script string
		want         int
	}{
		{"forged token", `fetch("/resources/` + id + `", {method: "DELETE", headers: {"X-CSRF-Token": "forged"}}).then(r => r.status)`, http.StatusForbidden},
		{"no token", `fetch("/resources/` + id + `", {method: "DELETE"}).then(r => r.status)`, http.StatusForbidden},
		{"no cookie", `fetch("/resources/` + id + `", {method: "DELETE", credentials: "omit", headers: {"X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content}}).then(r => r.status)`, http.StatusUnauthorized},
		{"forged sign-out", `fetch("/signout", {method: "POST", body: new URLSearchParams({csrf_token: "forged"})}).then(r => r.status)`, http.StatusForbidden},
		{"cancel without a token", `fetch("/offers/` + uuid.NewString() + `/cancel", {method: "POST"}).then(r => r.status)`, http.StatusForbidden},
	} {
		if got := fetchStatus(c.name, c.script); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	// The same from outside the browser, with the cookie's value.
	for _, c := range []struct {
		name, token string
		cookie      bool
		want        int
	}{
		{"outside, forged token", "forged", true, http.StatusForbidden},
		{"outside, no token", "", true, http.StatusForbidden},
		{"outside, no cookie", "", false, http.StatusUnauthorized},
	} {
		req, _ := http.NewRequest(http.MethodDelete, s.URL+"/resources/"+id, nil)
		if c.cookie {
			req.AddCookie(&http.Cookie{Name: session.Name, Value: session.Value})
		}
		if c.token != "" {
			req.Header.Set("X-CSRF-Token", c.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s: %d, want %d", c.name, resp.StatusCode, c.want)
		}
	}

	// A Hyperstack machine (a vendor with stop) has Stop beside Delete:
	// pressed, it goes stopped and shows Start, which brings it back.
	hs := rent(t, s, offerOf(t, s, "hyperstack", 0))
	waitReady(t, hs, time.Minute)
	power := func(verb, want string) {
		t.Helper()
		btn := `#machines button[data-power="` + verb + `"][data-id="` + hs.resource.String() + `"]`
		do(verb, chromedp.Navigate(s.URL+"/machines"), chromedp.WaitVisible(css(btn)), chromedp.Click(css(btn)))
		poll(verb+"ped machine", `(() => { const e = document.querySelector('#machines .state[data-id="`+hs.resource.String()+`"]'); return e && e.textContent === "`+want+`" ? "yes" : ""; })()`, 60*time.Second)
	}
	power("stop", "stopped")
	fits("machine stopped")
	power("start", "running")
	if code, _, body := s.Do(t, http.MethodDelete, "/resources/"+hs.resource.String(), "", nil); code != http.StatusOK {
		t.Fatalf("delete the Hyperstack machine: %d %s", code, body)
	}
	do("back to the machines", chromedp.Navigate(s.URL+"/machines"), chromedp.WaitVisible(css("#machines tbody tr .state-running")))

	// Delete, confirm, and watch it go deleting → deleted: then it has no
	// way in, nothing to delete and no auto-delete time.
	do("delete", chromedp.Click(css("#machines tbody button.danger")), chromedp.WaitVisible(css("#delete-go")))
	fits("delete confirm")
	do("confirm delete", chromedp.Click(css("#delete-go")))
	gone(id)
	fits("machines deleted")
	// A filter that hides every machine says so, not that there are none.
	do("filter", chromedp.SetValue(css("#f-status"), "unhealthy"))
	eval("filter", `(() => { document.getElementById("filters").dispatchEvent(new Event("change")); return []; })()`)
	if summary := poll("filtered summary", `(() => { const s = document.getElementById("summary").textContent; return s.startsWith("No machines") ? s : ""; })()`, 10*time.Second); summary != "No machines match these filters." {
		t.Errorf("with a filter that hides every machine the page says %q", summary)
	}

	// Rent again and cancel at once: the dialog says it is over, and the
	// server has ended it.
	search()
	do("rent to cancel", chromedp.Click(css("#offers tbody tr:nth-child(1) button")), chromedp.WaitVisible(css("#rent-go")),
		chromedp.Click(css("#rent-go")), chromedp.WaitVisible(css("#rent-cancel")))
	fits("rent under way")
	do("cancel", chromedp.Click(css("#rent-cancel")))
	out = poll("cancelled", `(() => { const e = document.getElementById("progress-error");
		return e.hidden ? "" : e.textContent; })()`, 30*time.Second)
	if !strings.Contains(out, "cancelled by the user") {
		t.Fatalf("after Cancel the dialog says %q", out)
	}
	if hidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("rent-cancel").hidden`)); err != nil || !hidden {
		t.Errorf("the Cancel button is still shown after the procurement ended (%v)", err)
	}

	// A region of the group Other is named by its country, not "Other".
	searchAt("Other", "hyperstack")
	rows := eval("regions elsewhere", `Array.from(document.querySelectorAll("#offers tbody tr"), tr => tr.textContent)`)
	if !slices.ContainsFunc(rows, func(r string) bool { return strings.Contains(r, "Canada · CANADA-1") }) {
		t.Errorf("Hyperstack's H100s of the group Other read %q, want CANADA-1 as Canada · CANADA-1", rows)
	}

	do("vendors", chromedp.Navigate(s.URL+"/vendors"), chromedp.WaitVisible(css("#vendors tbody tr")))
	if v, banner := text("main"), text(".banner"); !strings.Contains(v, "healthy") || !strings.Contains(banner, "Sandbox mode") {
		t.Fatalf("vendors page: %q, banner %q", v, banner)
	}
	fits("vendors")

	// Volumes: make one at Lambda from the form, watch it become
	// available, delete it and watch it go.
	createVolume()
	fits("volumes")
	do("delete volume", chromedp.Click(css("#volumes tbody button.danger")))
	poll("volume deleted", `(() => { const s = document.querySelector("#volumes tbody .state"); return s && s.textContent === "deleted" ? "yes" : ""; })()`, 30*time.Second)

	// An address that is no page is a page that says so.
	do("not found", chromedp.Navigate(s.URL+"/nope"), chromedp.WaitVisible(css("main h1")))
	if h := text("main h1"); h != "Page not found" {
		t.Errorf("/nope shows %q", h)
	}
	fits("not found")

	// /docs renders from the binary alone, and leads back to the console.
	do("docs", chromedp.Navigate(s.URL+"/docs"), chromedp.WaitVisible(css(`elements-api a`)))
	fits("docs")

	// The Team page: an admin sets the account's caps, makes a viewer key
	// with caps and an expiry and sees its secret once; signed in with it,
	// the console offers no Rent, Delete or Team; revoked from the page, the
	// key is refused at once.
	count := func(what, expr string) int {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[int](expr))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
	do("team", chromedp.Navigate(s.URL+"/team"), chromedp.WaitVisible(css("#keys tbody tr")))
	poll("the account's usage", `document.getElementById("account").textContent.includes("in the last 30 days") ? "shown" : ""`, 10*time.Second)
	do("account caps", chromedp.SetValue(css(`#limits [name="max_hourly_usd"]`), "1000"), chromedp.SetValue(css(`#limits [name="max_gpu_count"]`), "64"),
		chromedp.Click(css(`#limits button[type="submit"]`)))
	poll("the caps saved", `document.getElementById("account").textContent.includes("Caps: $1000/h, 64 GPUs") ? "saved" : ""`, 10*time.Second)
	var limits supplyapi.AccountLimits
	s.JSON(t, http.MethodGet, "/account/limits", "", nil, http.StatusOK, &limits)
	if limits.MaxHourlyUSD == nil || *limits.MaxHourlyUSD != 1000 || limits.MaxGPUCount == nil || *limits.MaxGPUCount != 64 {
		t.Errorf("the caps saved on the Team page read back as %+v, want $1000/h and 64 GPUs", limits)
	}
	do("new viewer key", chromedp.SetValue(css(`#new-key [name="name"]`), "viewer in a browser"),
		chromedp.SetValue(css(`#new-key [name="role"]`), "viewer"), chromedp.SetValue(css(`#new-key [name="max_hourly_usd"]`), "2.5"),
		chromedp.SetValue(css(`#new-key [name="max_gpu_count"]`), "1"), chromedp.SetValue(css(`#new-key [name="expires_at"]`), "2030-01-02T03:04"),
		chromedp.Click(css(`#new-key button[type="submit"]`)), chromedp.WaitVisible(css("#new-secret")))
	viewerKey := strings.TrimSpace(text("#secret"))
	var made []supplyapi.APIKeyInfo
	_, _, listed := s.Do(t, http.MethodGet, "/keys", "", nil)
	if err := json.Unmarshal(listed, &made); err != nil {
		t.Fatalf("GET /keys: %v %s", err, listed)
	}
	if i := slices.IndexFunc(made, func(k supplyapi.APIKeyInfo) bool { return k.Name == "viewer in a browser" }); i < 0 ||
		made[i].MaxHourlyUSD == nil || *made[i].MaxHourlyUSD != 2.5 || made[i].MaxGPUCount == nil || *made[i].MaxGPUCount != 1 ||
		made[i].ExpiresAt == nil || made[i].ExpiresAt.Year() != 2030 {
		t.Errorf("the key made on the Team page with $2.5/h, 1 GPU and an expiry in 2030: GET /keys lists %s", listed)
	}
	viewerRow := `[...document.querySelectorAll("#keys tbody tr")].find(r => r.cells[0].textContent === "viewer in a browser")`
	if role := poll("the new key listed", `(`+viewerRow+`)?.cells[1].textContent || ""`, 10*time.Second); role != "viewer" {
		t.Fatalf("the new key is listed with role %q", role)
	}
	fits("team")
	if status, _, body := s.DoKey(t, viewerKey, http.MethodGet, "/resources", "", nil); status != http.StatusOK {
		t.Fatalf("the key the Team page made: GET /resources %d %s", status, body)
	}
	do("sign in as the viewer", chromedp.Navigate(s.URL+"/"), chromedp.Click(css(".signout button")), chromedp.WaitVisible(css("#api_key")),
		chromedp.SetValue(css("#api_key"), viewerKey), chromedp.Submit(css("#api_key")), chromedp.WaitReady(css(`#q-gpu option[value="H100"]`)))
	search()
	if n := count("rent buttons", `document.querySelectorAll("#offers tbody tr button").length`); n != 0 {
		t.Errorf("a viewer's offers page shows %d Rent buttons", n)
	}
	if n := count("team links", `document.querySelectorAll('a[href="/team"]').length`); n != 0 {
		t.Errorf("a viewer's console links to the Team page")
	}
	do("viewer machines", chromedp.Navigate(s.URL+"/machines"), chromedp.WaitVisible(css("#machines tbody tr")))
	if n := count("delete buttons", `document.querySelectorAll("#machines tbody button.danger").length`); n != 0 {
		t.Errorf("a viewer's machines page shows %d Delete buttons", n)
	}
	do("viewer team", chromedp.Navigate(s.URL+"/team"), chromedp.WaitReady(css("main")))
	if loc := location(); loc != s.URL+"/" {
		t.Errorf("a viewer's /team went to %s, want /", loc)
	}
	do("sign in as the admin again", chromedp.Click(css(".signout button")), chromedp.WaitVisible(css("#api_key")),
		chromedp.SetValue(css("#api_key"), s.Key), chromedp.Submit(css("#api_key")), chromedp.WaitReady(css(`#q-gpu option[value="H100"]`)),
		chromedp.Navigate(s.URL+"/team"), chromedp.WaitVisible(css("#keys tbody tr")))
	// The page asks with window.confirm, which a headless browser would
	// leave open: the test says yes.
	do("revoke", chromedp.Evaluate[chromedp.Void](`window.confirm = () => true; (`+viewerRow+`).querySelector("button").click()`))
	revoked := time.Now()
	for {
		status, _, _ := s.DoKey(t, viewerKey, http.MethodGet, "/resources", "", nil)
		if status == http.StatusUnauthorized {
			break
		}
		if time.Since(revoked) > time.Second {
			t.Fatalf("the key revoked on the Team page still gets %d after %s", status, time.Since(revoked))
		}
		time.Sleep(20 * time.Millisecond)
	}
	poll("the revoked key leaves the list", `(`+viewerRow+`) ? "" : "gone"`, 10*time.Second)

	// Sign out: back at the sign-in form, and the console is closed.
	do("sign out", chromedp.Navigate(s.URL+"/"), chromedp.WaitVisible(css(".signout button")), chromedp.Click(css(".signout button")),
		chromedp.WaitVisible(css("#api_key")), chromedp.Navigate(s.URL+"/machines"), chromedp.WaitVisible(css("#api_key")))
	if loc := location(); loc != s.URL+"/signin" {
		t.Fatalf("after sign-out /machines went to %s", loc)
	}

	// On a phone: every page fits, offers are cards, and the console
	// still rents, lists and deletes.
	size = "390×844"
	do("phone", chromedp.EmulateViewport(390, 844), chromedp.WaitVisible(css("#api_key")))
	fits("phone signin")
	do("phone sign in", chromedp.SetValue(css("#api_key"), s.Key), chromedp.Submit(css("#api_key")),
		chromedp.WaitReady(css(`#q-gpu option[value="H100"]`)))
	fits("phone offers empty")
	search()
	fits("phone offers")
	do("phone rent", chromedp.Click(css("#offers tbody tr:nth-child(1) button")), chromedp.WaitVisible(css("#rent-go")))
	fits("phone rent")
	do("phone rent go", chromedp.Click(css("#rent-go")))
	poll("phone ready", `document.getElementById("ssh").hidden ? "" : "ready"`, 90*time.Second)
	fits("phone rent ready")
	do("phone machines", chromedp.Navigate(s.URL+"/machines"), chromedp.WaitVisible(css("#machines tbody tr .state-running")))
	gone(id)
	fits("phone machines")
	do("phone delete", chromedp.Click(css("#machines tbody button.danger")), chromedp.WaitVisible(css("#delete-go")))
	fits("phone delete confirm")
	do("phone delete cancel", chromedp.Click(css("#delete [data-close]")))
	do("phone vendors", chromedp.Navigate(s.URL+"/vendors"), chromedp.WaitVisible(css("#vendors tbody tr")))
	fits("phone vendors")
	createVolume()
	fits("phone volumes")
	do("phone team", chromedp.Navigate(s.URL+"/team"), chromedp.WaitVisible(css("#keys tbody tr")))
	fits("phone team")
	do("phone not found", chromedp.Navigate(s.URL+"/nope"), chromedp.WaitVisible(css("main h1")))
	fits("phone not found")
	do("phone docs", chromedp.Navigate(s.URL+"/docs#/operations/get_offers_get_offers_post"), chromedp.WaitVisible(css(`elements-api h1`)))
	fits("phone docs")
	do("back to the console", chromedp.Click(css(`a[href="/"]`)), chromedp.WaitReady(css(`#q-gpu option[value="H100"]`)))
	if loc := location(); loc != s.URL+"/" {
		t.Errorf("the link from /docs back to the console went to %s", loc)
	}

	// The initial key is printed only on a terminal, and signing in twice,
	// a wrong key and every page after must not log it either.
	if n := strings.Count(s.Stderr(), s.Key); n != 0 {
		t.Errorf("the API key appears %d times in the server's log", n)
	}
}

// soldOut takes away, at its vendor, the stock of the cheapest on-demand
// H100 of a region group where the vendors sell an equivalent of it (its
// exact GPU, at most 25% dearer per GPU-hour, elsewhere): the region and
// the offer sold. Prices drift with the clock, so the region is found.
func soldOut(t *testing.T, s *Server) (string, supplyapi.Offer) {
	t.Helper()
	for _, region := range []string{"US", "EU", "APAC"} {
		var res supplyapi.OfferResult
		s.JSON(t, http.MethodPost, "/get_offers", "application/json",
			[]byte(`{"region":"`+region+`","compute":{"gpu_type":"H100","contract_type":"ondemand"},"limit":100}`), http.StatusOK, &res)
		if len(res.Offers) == 0 {
			continue
		}
		first := res.Offers[0]
		for _, o := range res.Offers[1:] {
			if o.GPUType == first.GPUType && o.GPUCount == first.GPUCount && o.GPUPricePerHour <= first.GPUPricePerHour*1.25 &&
				o.Vendor+o.VendorRegion != first.Vendor+first.VendorRegion {
				s.TakeAway(t, first)
				return region, first
			}
		}
	}
	t.Fatal("no region group sells an H100 with an equivalent at another vendor or region")
	return "", supplyapi.Offer{}
}

func price(t *testing.T, s string) float64 {
	t.Helper()
	var f float64
	if _, err := fmt.Sscanf(strings.TrimPrefix(s, "$"), "%g", &f); err != nil {
		t.Fatalf("price %q: %v", s, err)
	}
	return f
}
