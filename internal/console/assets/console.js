// supply web console. The pages are server-rendered shells; this script
// fills them from the JSON API, authenticated by the session cookie. It
// sends the page's CSRF token with every request that changes anything,
// writes data into the page only as text (never as HTML), and keeps table
// cells and status lines in place so that updates do not move the layout.
"use strict";

(function () {
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.content : "";

  // api calls the JSON API and returns the decoded body; a failure throws
  // an Error whose message is the API's own sentence, with the fields it
  // refused named by labels (see errorText).
  async function api(method, path, body, headers, labels) {
    const h = Object.assign({ Accept: "application/json" }, headers || {});
    if (method !== "GET") h["X-CSRF-Token"] = csrf;
    if (body !== undefined) h["Content-Type"] = "application/json";
    const res = await fetch(path, {
      method, headers: h, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status === 401) {
      window.location.assign("/signin");
      throw new Error("Your session has ended; sign in again.");
    }
    const data = await res.json().catch(() => null);
    if (!res.ok) throw new Error(errorText(res.status, data, labels || {}));
    return data;
  }

  // errorText turns the API's error bodies ({"detail": "..."} or a list of
  // field errors) into one readable sentence. A refused field is named by
  // the label of the form field it came from (labels maps its path in the
  // body, "compute.gpu_type", to "GPU"; a failover's query is the search's
  // own), as the command line names its flags: "GPU: unknown GPU type",
  // "SSH public key is not an OpenSSH public key: ...".
  function errorText(status, data, labels) {
    const d = data && data.detail;
    if (typeof d === "string") return d;
    if (Array.isArray(d)) {
      return d.map((e) => {
        const loc = (e.loc || []).filter((p, i) => i > 0 || p !== "body");
        const path = loc.join(".");
        const name = labels[path] || labels[path.replace(/^fallback\.query\./, "")] || path;
        const msg = String(e.msg || "").replace(/^Value error, /, "");
        const own = String(loc[loc.length - 1]) + " ";
        if (name && loc.length && msg.startsWith(own)) return name + " " + msg.slice(own.length);
        return (name ? name + ": " : "") + msg;
      }).join("; ");
    }
    return "The server answered " + status + ".";
  }

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  // row is a row of table: each cell a node, or {text or node, cls, title}. Each cell
  // carries its column's name (data-label), which a narrow screen shows
  // beside it when the rows become cards.
  function row(table, cells) {
    const heads = table.querySelectorAll("thead th");
    const tr = document.createElement("tr");
    cells.forEach((c, i) => {
      const node = c instanceof Node ? c : c.node;
      const td = el("td", node ? undefined : c.text, c.cls);
      if (node) td.appendChild(node);
      if (c.title) td.title = c.title;
      if (heads[i] && heads[i].textContent.trim()) td.dataset.label = heads[i].textContent.trim();
      tr.appendChild(td);
    });
    return tr;
  }

  // money is dollars and cents by the command line's rule: rounded to the
  // nearest cent, and "<$0.01" for an amount above zero that rounds to
  // nothing (never "$0.00" for what is not free); exact is the figure the
  // API sent, shown on hover.
  function money(n) {
    const cents = Math.round(Number(n) * 100);
    return cents === 0 && n > 0 ? "<$0.01" : "$" + (cents / 100).toFixed(2);
  }
  const exact = (n) => "$" + Number(n) + " exactly";
  const orDash = (v, unit) => (v === null || v === undefined ? "–" : v + (unit || ""));

  // Names as people say them: vendors by their display names (names maps
  // a slug to its vendor), contracts as "On-demand" and "Spot", a region
  // by its group and the vendor's name for it, or, where the group is
  // Other, by the country when the offer names it.
  const vendorName = (names, slug) => (names[slug] && names[slug].display_name) || slug;
  const contractName = (c) => ({ ondemand: "On-demand", spot: "Spot" })[c] || c;
  const countries = typeof Intl.DisplayNames === "function" ? new Intl.DisplayNames(["en"], { type: "region" }) : null;
  function regionName(group, vendorRegion, country) {
    if (group !== "Other") return group + " · " + vendorRegion;
    const where = country && countries ? countries.of(country) : "";
    return where ? where + " · " + vendorRegion : vendorRegion;
  }

  async function vendorNames() {
    const names = {};
    for (const v of await api("GET", "/available_vendors")) names[v.name] = v;
    return names;
  }

  function ago(iso) {
    if (!iso) return "never";
    const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    return duration(s) + " ago";
  }

  function duration(s) {
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + String(s % 60).padStart(2, "0") + " s";
    if (s < 86400) return Math.floor(s / 3600) + " h " + String(Math.floor((s % 3600) / 60)).padStart(2, "0") + " min";
    return Math.floor(s / 86400) + " d " + Math.floor((s % 86400) / 3600) + " h";
  }

  function setText(id, text) { document.getElementById(id).textContent = text; }

  // copyButton makes button copy the text of node to the clipboard.
  function copyButton(button, node) {
    button.addEventListener("click", async () => {
      try { await navigator.clipboard.writeText(node.textContent); button.textContent = "Copied"; } catch (e) {
        // Without clipboard access (plain http), select it for Ctrl+C.
        const r = document.createRange();
        r.selectNodeContents(node);
        const s = window.getSelection(); s.removeAllRanges(); s.addRange(r);
        button.textContent = "Selected: press Ctrl+C";
      }
    });
  }

  // The signed-in key's role: a viewer's pages offer no Rent and no Delete,
  // which the API would refuse it.
  const canWrite = document.body.dataset.role !== "viewer";

  function show(node, text) {
    node.textContent = text || "";
    node.hidden = !text;
  }

  // Dialogs close on their [data-close] buttons and on Escape (native).
  for (const b of document.querySelectorAll("dialog [data-close]")) {
    b.addEventListener("click", () => b.closest("dialog").close());
  }

  function randomKey() {
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }

  // ---- Offers --------------------------------------------------------

  // queryLabels name the fields of a get_offers query by the search form's
  // labels.
  const queryLabels = {
    "compute.gpu_type": "GPU", "compute.gpu_count": "GPUs per node", "compute.node_count": "Nodes",
    "compute.contract_type": "Contract", "compute.max_price_per_gpu_hour": "Max $/GPU-h", region: "Region", vendor: "Vendor",
    "network.supports_cilium": "Cilium",
  };

  function offersPage() {
    const form = document.getElementById("query");
    const tbody = document.querySelector("#offers tbody");
    const notes = document.getElementById("notes");
    const table = document.getElementById("offers");
    let vendorsByName = {};
    let current = [];

    (async function load() {
      try {
        const [gpus, regions, names] = await Promise.all([
          api("GET", "/available_gpus"), api("GET", "/available_regions"), vendorNames(),
        ]);
        vendorsByName = names;
        rentNames = names;
        const sel = document.getElementById("q-gpu");
        sel.replaceChildren(el("option", "Choose a GPU…"));
        sel.firstChild.value = "";
        for (const fam of Object.keys(gpus).sort()) {
          const g = document.createElement("optgroup");
          g.label = fam;
          const any = el("option", fam + " (any variant)");
          any.value = fam;
          g.appendChild(any);
          for (const v of gpus[fam]) { const o = el("option", v); o.value = v; g.appendChild(o); }
          sel.appendChild(g);
        }
        const regionLabels = { US: "US", EU: "Europe (EU)", APAC: "Asia-Pacific (APAC)", Other: "Elsewhere (Other)" };
        for (const r of regions) { const o = el("option", regionLabels[r] || r); o.value = r; document.getElementById("q-region").appendChild(o); }
        for (const v of Object.values(names)) {
          const o = el("option", v.display_name || v.name); o.value = v.name;
          document.getElementById("q-vendor").appendChild(o);
        }
        const params = new URLSearchParams(window.location.hash.slice(1));
        for (const [k, v] of params) if (form.elements[k]) form.elements[k].value = v;
      } catch (e) {
        setText("summary", "Could not load the choices: " + e.message);
      }
    })();

    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const f = form.elements;
      const q = { compute: { gpu_type: f.gpu.value, gpu_count: Number(f.gpu_count.value) || 1, contract_type: f.contract.value }, limit: 200 };
      if (f.nodes.value) q.compute.node_count = Number(f.nodes.value);
      if (f.max_price.value) q.compute.max_price_per_gpu_hour = Number(f.max_price.value);
      if (f.region.value) q.region = f.region.value;
      if (f.vendor.value) q.vendor = f.vendor.value;
      if (f.cilium.checked) q.network = { supports_cilium: true };
      setText("summary", "Searching…");
      try {
        const res = await api("POST", "/get_offers", q, undefined, queryLabels);
        current = res.offers;
        renderOffers(res);
      } catch (e) {
        setText("summary", e.message);
        tbody.replaceChildren();
      }
    });

    function renderOffers(res) {
      notes.replaceChildren();
      const missing = (res.filters_applied && res.filters_applied.vendors_unavailable) || [];
      const degraded = Object.values(vendorsByName).filter((v) => v.status !== "healthy" && !missing.includes(v.name));
      if (missing.length) notes.appendChild(el("p", "Not included, their catalogs are unavailable: " + missing.map((v) => vendorName(vendorsByName, v)).join(", ") + ".", "warn"));
      for (const v of degraded) notes.appendChild(el("p", (v.display_name || v.name) + " is " + v.status + (v.observed_at ? " (catalog from " + ago(v.observed_at) + ")" : "") + ".", "warn"));
      setText("summary", res.offers.length === 0 ? "No offers match." :
        res.total_count + " offers, cheapest first" + (res.total_count > res.offers.length ? " (first " + res.offers.length + " shown)" : "") + ".");
      tbody.replaceChildren(...res.offers.map((o, i) => {
        let action = { text: "" };
        if (canWrite) {
          const rent = el("button", "Rent", "small");
          rent.type = "button";
          rent.dataset.index = i;
          rent.setAttribute("aria-label", "Rent " + o.gpu_count + "× " + o.gpu_type + " at " + vendorName(vendorsByName, o.vendor) + " for " + money(o.total_price_per_hour) + " per hour");
          action = { node: rent, cls: "action" };
        }
        const nodes = o.deployment_type === "cluster" ? " × " + o.node_count + " nodes" : "";
        return row(table, [
          { text: money(o.gpu_price_per_hour), title: exact(o.gpu_price_per_hour), cls: "num price" },
          { text: money(o.total_price_per_hour), title: exact(o.total_price_per_hour), cls: "num" },
          { text: o.gpu_count + "× " + o.gpu_type + nodes, cls: "gpu" }, { text: vendorName(vendorsByName, o.vendor) },
          { text: regionName(o.region, o.vendor_region, o.country) },
          { text: orDash(o.vcpu_count), cls: "num opt" }, { text: orDash(o.memory_in_gb, " GB"), cls: "num opt" },
          { text: orDash(o.boot_disk_in_gb, " GB"), cls: "num opt" }, { text: contractName(o.contract_type) },
          { text: ago(o.observed_at), title: o.observed_at, cls: "observed opt" }, { text: "", cls: "expiry" }, action,
        ]);
      }));
      tick();
    }

    // Freshness and the expiry countdown update in place, once a second.
    function tick() {
      tbody.querySelectorAll("td.observed").forEach((td, i) => { td.textContent = ago(current[i].observed_at); });
      tbody.querySelectorAll("td.expiry").forEach((td, i) => {
        const left = Math.round((Date.parse(current[i].expires_at) - Date.now()) / 1000);
        td.textContent = left > 0 ? duration(left) : "expired";
        td.classList.toggle("expired", left <= 0);
      });
    }
    setInterval(tick, 1000);

    tbody.addEventListener("click", (ev) => {
      const b = ev.target.closest("button[data-index]");
      if (b) openRent(current[Number(b.dataset.index)]);
    });
    setupRent();
  }

  // ---- Rent ----------------------------------------------------------

  let rentOffer = null;
  let rentKey = "";
  // rentNames are the vendors by slug, for their display names.
  let rentNames = {};
  // rentLabels name the fields of a procurement by the Rent dialog's
  // labels; a failover's query is the search's.
  const rentLabels = Object.assign({
    offer_id: "Offer", ssh_public_key: "SSH public key", resource_name: "Name", auto_delete_after: "Delete after",
    cloud_init: "cloud-init", fallback: "Fallback",
    open_ports: "Open ports", volume_ids: "Volumes",
  }, queryLabels);
  let poll = null;
  // watching is the offer whose procurement the dialog shows; a status
  // of another (a late answer after the dialog moved on) is dropped.
  let watching = null;

  function setupRent() {
    const dialog = document.getElementById("rent");
    const form = document.getElementById("rent-form");
    dialog.addEventListener("close", () => { clearTimeout(poll); poll = null; watching = null; });
    // A volume stays where it is: a failover could move the machine to
    // another vendor or region, so the server refuses both together.
    document.getElementById("rent-volume-list").addEventListener("change", () => {
      const fallback = form.elements.fallback;
      fallback.disabled = form.querySelector("#rent-volume-list input:checked") !== null;
      if (fallback.disabled) fallback.checked = false;
    });
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const f = form.elements;
      const key = f.ssh_public_key.value.trim();
      localStorage.setItem("supply.sshPublicKey", key);
      const req = { offer_id: rentOffer.offer_id, ssh_public_key: key };
      if (f.resource_name.value.trim()) req.resource_name = f.resource_name.value.trim();
      if (f.cloud_init.value.trim()) req.cloud_init = f.cloud_init.value;
      if (f.auto_delete_after.value.trim()) req.auto_delete_after = f.auto_delete_after.value.trim();
      // Sent as typed, one entry a word: the server names a bad one.
      if (f.open_ports.value.trim()) req.open_ports = f.open_ports.value.trim().split(/[\s,]+/);
      const volumes = Array.from(form.querySelectorAll("#rent-volume-list input:checked"), (i) => i.value);
      if (volumes.length) req.volume_ids = volumes;
      // The server's own equivalents: same GPU, count, nodes, contract
      // and region group, at most 25% dearer per GPU-hour.
      if (f.fallback.checked) req.fallback = {};
      const go = document.getElementById("rent-go");
      go.disabled = true;
      show(document.getElementById("rent-error"), "");
      try {
        // One key per dialog: a retry after a lost answer procures once.
        await api("POST", "/procure_offer", req, { "Idempotency-Key": rentKey }, rentLabels);
        form.hidden = true;
        document.getElementById("progress").hidden = false;
        watching = rentOffer.offer_id;
        watch(watching);
      } catch (e) {
        show(document.getElementById("rent-error"), e.message);
      } finally {
        go.disabled = false;
      }
    });
    // Cancel ends the procurement on the server, whether it is trying an
    // offer or waiting for stock; the answer is its status.
    document.getElementById("rent-cancel").addEventListener("click", async () => {
      const b = document.getElementById("rent-cancel");
      const offerID = watching;
      b.disabled = true;
      try {
        const st = await api("POST", "/offers/" + offerID + "/cancel");
        clearTimeout(poll);
        if (watching === offerID && render(st)) poll = setTimeout(() => watch(offerID), 1000);
      } catch (e) {
        show(document.getElementById("progress-error"), "Could not cancel: " + e.message);
      } finally {
        b.disabled = false;
      }
    });
    copyButton(document.getElementById("copy"), document.getElementById("ssh-command"));
  }

  function openRent(o) {
    rentOffer = o;
    rentKey = randomKey();
    const form = document.getElementById("rent-form");
    form.hidden = false;
    form.reset();
    form.elements.ssh_public_key.value = localStorage.getItem("supply.sshPublicKey") || "";
    document.getElementById("progress").hidden = true;
    show(document.getElementById("rent-error"), "");
    show(document.getElementById("progress-error"), "");
    document.getElementById("ssh").hidden = true;
    document.getElementById("attempts").replaceChildren();
    document.getElementById("attempts").hidden = true;
    document.getElementById("rent-cancel").hidden = true;
    document.getElementById("copy").textContent = "Copy";
    for (const li of document.querySelectorAll("#steps li")) li.className = "";
    setText("rent-title", "Rent " + o.gpu_count + "× " + o.gpu_type);
    setText("rent-offer", vendorName(rentNames, o.vendor) + " · " + regionName(o.region, o.vendor_region, o.country) + " · " +
      contractName(o.contract_type) + " · " + money(o.gpu_price_per_hour) + "/GPU-h · " + money(o.total_price_per_hour) + "/h");
    document.getElementById("rent-volumes").hidden = true;
    form.elements.fallback.disabled = false;
    document.getElementById("rent-volume-list").replaceChildren();
    offerVolumes(o);
    document.getElementById("rent").showModal();
    (form.elements.ssh_public_key.value ? document.getElementById("rent-go") : form.elements.ssh_public_key).focus();
  }

  // offerVolumes lists, in the Rent dialog for offer o, the account's
  // volumes that can be attached to it: available, at its vendor and
  // vendor region. With none the field stays hidden; an answer that comes
  // after the dialog moved to another offer is dropped.
  async function offerVolumes(o) {
    let vs;
    try {
      vs = await api("GET", "/volumes");
    } catch (e) {
      return; // renting works without: the field stays hidden
    }
    if (rentOffer !== o) return;
    const fit = vs.filter((v) => v.vendor === o.vendor && v.vendor_region === o.vendor_region && v.status === "available");
    const list = document.getElementById("rent-volume-list");
    list.replaceChildren(...fit.map((v) => {
      const box = el("input");
      box.type = "checkbox";
      box.value = v.id;
      const label = el("label", null, "check");
      label.append(box, " " + (v.name || v.id) + " · " + v.size_gb + " GB" + (v.mount_path ? " · " + v.mount_path : ""));
      return label;
    }));
    document.getElementById("rent-volumes").hidden = fit.length === 0;
  }

  const stepOrder = ["provisioning_started", "provisioning_in_progress", "ready"];

  async function watch(offerID) {
    let st;
    try {
      st = await api("GET", "/offers/" + offerID + "/status");
    } catch (e) {
      if (watching !== offerID) return;
      setText("progress-status", "Could not read the status (" + e.message + "); retrying…");
      poll = setTimeout(() => watch(offerID), 2000);
      return;
    }
    if (watching !== offerID) return;
    if (render(st)) poll = setTimeout(() => watch(offerID), 1000);
  }

  // render shows a procurement's status in the dialog and says whether it
  // is still under way.
  function render(st) {
    const reached = stepOrder.indexOf(st.procurement_status);
    document.querySelectorAll("#steps li").forEach((li, i) => {
      li.className = i < reached || st.procurement_status === "ready" ? "done" : i === reached ? "current" : "";
    });
    renderAttempts(st.attempts || []);
    const going = st.procurement_status !== "ready" && st.procurement_status !== "failed";
    document.getElementById("rent-cancel").hidden = !going;
    if (st.procurement_status === "failed") {
      setText("progress-status", "Failed.");
      show(document.getElementById("progress-error"), failureText(st.failure_reason));
      return false;
    }
    setText("progress-status", (st.procurement_status === "ready" ? "Ready: " : "Provisioning: ") + (st.progress || ""));
    if (st.procurement_status === "ready") {
      const cmds = st.instances.map((i) => i.ssh_command).filter(Boolean);
      setText("ssh-command", cmds.join("\n"));
      document.getElementById("ssh").hidden = cmds.length === 0;
      document.getElementById("copy").focus();
    }
    return going;
  }

  // renderAttempts lists the offers a procurement with a fallback tried:
  // where, at what price, how each try ended and why.
  function renderAttempts(attempts) {
    const list = document.getElementById("attempts");
    list.hidden = attempts.length === 0;
    list.replaceChildren(...attempts.map((a) => {
      const li = el("li", vendorName(rentNames, a.vendor) + " " + a.region + " · " + money(a.gpu_price_per_hour) + "/GPU-h · ");
      li.appendChild(el("span", a.outcome === "trying" ? "trying…" : a.outcome.replace("_", " "), "state state-" + a.outcome));
      if (a.reason) li.appendChild(el("span", a.reason, "reason"));
      return li;
    }));
  }

  function failureText(reason) {
    if (!reason) return "The procurement failed and the vendor gave no reason. Nothing is left running; try another offer.";
    // A vendor's sentence may end with its own full stop.
    return "The procurement failed: " + reason.replace(/[.\s]+$/, "") + ". Anything it had started is being cleaned up; try another offer.";
  }

  // ---- Machines ------------------------------------------------------

  // A machine leaving or gone (deleting, deleted, failed) has no way in,
  // no auto-delete time and nothing to delete; one taken back by its
  // vendor (preempted) has no way in either.
  const leaving = (status) => status === "deleting" || status === "deleted" || status === "failed";
  const reachable = (status) => !leaving(status) && status !== "preempted";

  // sshCode is an ssh command that wraps only between its parts, an
  // option with its value ("-p 40123") being one part; copied, it is the
  // command as it was.
  function sshCode(command) {
    const code = el("code");
    const words = command.split(" ");
    for (let i = 0; i < words.length; i++) {
      const part = words[i].startsWith("-") && i + 1 < words.length ? words[i] + " " + words[++i] : words[i];
      if (code.childNodes.length) code.appendChild(document.createTextNode(" "));
      code.appendChild(el("span", part, "part"));
    }
    return code;
  }

  // portLinks are a running machine's open ports (open_ports): a TCP
  // port as a link to http://host:port, a UDP one as its address; null
  // when it has none placed yet.
  function portLinks(r) {
    const placed = (r.ports || []).filter((p) => p.host && p.public_port);
    if (!reachable(r.status) || placed.length === 0) return null;
    const ul = el("ul", undefined, "ports");
    for (const p of placed) {
      const addr = p.host + ":" + p.public_port;
      const li = el("li");
      if (p.protocol === "tcp") {
        const a = el("a", p.port + " → " + addr);
        a.href = "http://" + addr;
        a.target = "_blank";
        a.rel = "noopener";
        li.appendChild(a);
      } else {
        li.textContent = p.port + "/" + p.protocol + " → " + addr;
      }
      ul.appendChild(li);
    }
    return ul;
  }

  function machinesPage() {
    const filters = document.getElementById("filters");
    const table = document.getElementById("machines");
    const tbody = table.querySelector("tbody");
    const vendorSel = document.getElementById("f-vendor");
    let names = {};
    let list = [];
    let target = null;
    let timer = null;

    const params = new URLSearchParams(window.location.search);
    for (const k of ["status", "vendor"]) if (params.get(k)) filters.elements[k].value = params.get(k);

    filters.addEventListener("change", () => {
      const p = new URLSearchParams();
      for (const k of ["status", "vendor"]) if (filters.elements[k].value) p.set(k, filters.elements[k].value);
      history.replaceState(null, "", p.toString() ? "?" + p : window.location.pathname);
      refresh();
    });

    async function refresh() {
      clearTimeout(timer);
      const status = filters.elements.status.value;
      try {
        // Display names once; without them, the vendors' slugs.
        if (!Object.keys(names).length) names = await vendorNames().catch(() => ({}));
        list = await api("GET", "/resources" + (status ? "?status=" + encodeURIComponent(status) : ""));
        render();
      } catch (e) {
        setText("summary", e.message);
      }
      // Something changing (provisioning, deleting) is watched closely.
      const busy = list.some((r) => ["provisioning", "deleting", "stopping", "starting"].includes(r.status));
      timer = setTimeout(refresh, busy ? 1500 : 10000);
    }

    function render() {
      const vendor = filters.elements.vendor.value;
      const seen = new Set(Array.from(vendorSel.options, (o) => o.value));
      for (const r of list) if (!seen.has(r.vendor)) { seen.add(r.vendor); const o = el("option", vendorName(names, r.vendor)); o.value = r.vendor; vendorSel.appendChild(o); }
      const shown = list.filter((r) => !vendor || r.vendor === vendor);
      const filtered = vendor || filters.elements.status.value;
      setText("summary", shown.length > 0 ? shown.length + " machine" + (shown.length === 1 ? "" : "s") + ", newest first." :
        filtered ? "No machines match these filters." : "No machines yet: rent one from Offers.");
      tbody.replaceChildren(...shown.map((r) => {
        const name = document.createElement("div");
        name.appendChild(el("span", r.name || r.resource_id));
        const short = el("small", r.resource_id.slice(0, 8), "id");
        short.title = r.resource_id;
        name.appendChild(short);
        const nodes = r.linked_resources.filter((l) => l.link_type === "cluster_node");
        if (nodes.length) {
          const ul = el("ul", undefined, "nodes");
          for (const n of nodes) ul.appendChild(el("li", (n.name || n.resource_id) + ": " + n.status));
          name.appendChild(ul);
        }
        const cluster = r.linked_resources.find((l) => l.link_type === "cluster");
        if (cluster) name.appendChild(el("small", "node of " + (cluster.name || cluster.resource_id), "id"));
        const state = el("span", r.status, "state state-" + r.status);
        state.dataset.id = r.resource_id;
        if (r.status_message) state.title = r.status_message;
        const age = document.createElement("div");
        age.appendChild(state);
        age.appendChild(el("small", duration(Math.round((Date.now() - Date.parse(r.created_at)) / 1000)) + " old", "id"));
        const ssh = reachable(r.status) && r.access.ssh_command ? { node: sshCode(r.access.ssh_command), cls: "ssh-cell" } : { text: "–" };
        const links = portLinks(r);
        if (links && ssh.node) {
          const cell = document.createElement("div");
          cell.append(ssh.node, links);
          ssh.node = cell;
        }
        let action = { text: r.status === "deleting" ? "Deleting…" : "" };
        if (canWrite && !leaving(r.status)) {
          const del = el("button", "Delete", "small danger");
          del.type = "button";
          del.dataset.id = r.resource_id;
          del.setAttribute("aria-label", "Delete " + (r.name || r.resource_id));
          action = { node: del, cls: "action" };
          // Stop and Start, where the machine's vendor has them (supports_stop).
          const power = { running: "Stop", stopped: "Start" }[r.status];
          if (power && names[r.vendor] && names[r.vendor].supports_stop) {
            const b = el("button", power, "small secondary power");
            b.type = "button";
            b.dataset.id = r.resource_id;
            b.dataset.power = power.toLowerCase();
            b.setAttribute("aria-label", power + " " + (r.name || r.resource_id));
            const cell = el("span", undefined, "power-pair");
            cell.append(del, b);
            action = { node: cell, cls: "action" };
          }
        }
        let autoDelete = { text: leaving(r.status) ? "–" : "never", title: "no auto-delete", cls: "when" };
        if (r.delete_at) {
          autoDelete = { text: "in " + duration(Math.max(0, Math.round((Date.parse(r.delete_at) - Date.now()) / 1000))), title: "deleted on its own at " + r.delete_at, cls: "when" };
        }
        return row(table, [
          { node: name, cls: "name" }, { node: age }, { text: vendorName(names, r.vendor) + " · " + r.vendor_region },
          { text: r.spec.gpu_count + "× " + r.spec.gpu_type, cls: "gpu" },
          { text: money(r.pricing_total_hourly), title: exact(r.pricing_total_hourly), cls: "num" },
          { text: money(r.accrued_cost), cls: "num", title: exact(r.accrued_cost) + ", billed from when the vendor made it" + (r.valid_to ? " until it confirmed it gone" : " until now") },
          autoDelete, ssh, action,
        ]);
      }));
    }

    tbody.addEventListener("click", (ev) => {
      const b = ev.target.closest("button[data-id]");
      if (!b) return;
      if (b.dataset.power) {
        // Asynchronous like a deletion: the row shows stopping or starting at once.
        b.disabled = true;
        api("POST", "/resources/" + b.dataset.id + "/" + b.dataset.power).then(refresh, (e) => setText("summary", e.message));
        return;
      }
      target = list.find((r) => r.resource_id === b.dataset.id);
      setText("delete-what", "Delete " + (target.name || target.resource_id) + " (" + target.spec.gpu_count + "× " + target.spec.gpu_type + " at " + vendorName(names, target.vendor) + ", " + target.status + ")?");
      document.getElementById("delete-force-label").hidden = target.status !== "provisioning";
      document.getElementById("delete-force").checked = false;
      show(document.getElementById("delete-error"), "");
      document.getElementById("delete").showModal();
      document.getElementById("delete-go").focus();
    });

    document.getElementById("delete-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const force = document.getElementById("delete-force").checked;
      try {
        await api("DELETE", "/resources/" + target.resource_id + (force ? "?force=true" : ""));
        document.getElementById("delete").close();
        refresh();
      } catch (e) {
        show(document.getElementById("delete-error"), e.message);
      }
    });

    refresh();
  }

  // ---- Vendors -------------------------------------------------------

  function vendorsPage() {
    const table = document.getElementById("vendors");
    const tbody = table.querySelector("tbody");
    async function refresh() {
      try {
        const vs = await api("GET", "/available_vendors");
        const healthy = vs.filter((v) => v.status === "healthy").length;
        setText("summary", vs.length + " vendors, " + healthy + " healthy" + (vs.some((v) => v.sandbox) ? " (sandbox stand-ins)" : "") + ".");
        const yes = (b) => (b ? "yes" : "no");
        tbody.replaceChildren(...vs.map((v) => row(table, [
          { text: (v.display_name || v.name) + " (" + v.name + ")" }, { text: v.status, cls: "state state-" + v.status },
          { text: v.offers, cls: "num" }, { text: ago(v.observed_at), title: v.observed_at || "" },
          { text: yes(v.supports_spot) }, { text: yes(v.supports_clusters) }, { text: yes(v.supports_cilium) },
          { text: v.last_error || "–" },
        ])));
      } catch (e) {
        setText("summary", e.message);
      }
      setTimeout(refresh, 10000);
    }
    refresh();
  }

  // ---- Team ----------------------------------------------------------

  // capValue is a cap field's value for the API: a number, or null for none.
  function capValue(v) { return v === "" ? null : Number(v); }
  const capText = (v, prefix) => (v === null || v === undefined ? "none" : (prefix || "") + v);
  const keyLabels = { name: "Name", role: "Role", max_hourly_usd: "Max $/h", max_gpu_count: "Max GPUs", expires_at: "Expires" };

  function teamPage() {
    const table = document.getElementById("keys");
    const tbody = table.querySelector("tbody");
    const limits = document.getElementById("limits");
    async function loadAccount() {
      try {
        const [acc, usage] = await Promise.all([api("GET", "/account"), api("GET", "/usage")]);
        setText("account", "Account " + acc.name + ": " + acc.live.resources + " live machines with " + acc.live.gpu_count + " GPUs at " +
          money(acc.live.hourly_usd) + "/h now; " + money(usage.total_cost) + " in the last 30 days. Caps: " +
          capText(acc.limits.max_hourly_usd, "$") + "/h, " + capText(acc.limits.max_gpu_count) + " GPUs.");
        limits.elements.max_hourly_usd.value = acc.limits.max_hourly_usd ?? "";
        limits.elements.max_gpu_count.value = acc.limits.max_gpu_count ?? "";
      } catch (e) {
        setText("account", e.message);
      }
    }
    async function loadKeys() {
      try {
        const keys = await api("GET", "/keys");
        setText("summary", keys.length + " keys. A revoked key is refused within a second, and its console sessions end.");
        tbody.replaceChildren(...keys.map((k) => {
          const revoke = el("button", "Revoke", "small danger");
          revoke.type = "button";
          revoke.dataset.id = k.id;
          revoke.setAttribute("aria-label", "Revoke " + (k.name || k.prefix));
          return row(table, [
            { text: k.name || "–" }, { text: k.role }, { node: el("code", k.prefix + "…") },
            { text: capText(k.max_hourly_usd, "$"), cls: "num" }, { text: capText(k.max_gpu_count), cls: "num" },
            { text: k.expires_at ? new Date(k.expires_at).toLocaleString() : "never", title: k.expires_at || "" },
            { text: k.last_used_at ? ago(k.last_used_at) : "never", title: k.last_used_at || "" }, { node: revoke, cls: "action" },
          ]);
        }));
      } catch (e) {
        setText("summary", e.message);
      }
    }
    limits.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try {
        await api("PATCH", "/account/limits", {
          max_hourly_usd: capValue(limits.elements.max_hourly_usd.value), max_gpu_count: capValue(limits.elements.max_gpu_count.value),
        }, undefined, { max_hourly_usd: "Max $/h", max_gpu_count: "Max GPUs" });
        setText("limits-note", "Caps saved.");
        loadAccount();
      } catch (e) {
        setText("limits-note", e.message);
      }
    });
    const form = document.getElementById("new-key");
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const f = form.elements;
      const body = { name: f.name.value, role: f.role.value, max_hourly_usd: capValue(f.max_hourly_usd.value), max_gpu_count: capValue(f.max_gpu_count.value) };
      if (f.expires_at.value) body.expires_at = new Date(f.expires_at.value).toISOString();
      try {
        const k = await api("POST", "/keys", body, undefined, keyLabels);
        setText("secret", k.key);
        document.getElementById("copy-secret").textContent = "Copy";
        document.getElementById("new-secret").hidden = false;
        form.reset();
        loadKeys();
      } catch (e) {
        setText("summary", e.message);
      }
    });
    copyButton(document.getElementById("copy-secret"), document.getElementById("secret"));
    tbody.addEventListener("click", async (ev) => {
      const b = ev.target.closest("button[data-id]");
      if (!b || !window.confirm("Revoke this key? Whoever holds it is refused from now on.")) return;
      b.disabled = true;
      try {
        await api("DELETE", "/keys/" + b.dataset.id);
      } catch (e) {
        setText("summary", e.message);
      }
      loadKeys();
    });
    loadAccount();
    loadKeys();
  }

  // ---- Volumes -------------------------------------------------------

  // volumesPage lists the account's volumes, makes one from the form and
  // deletes one (the API refuses one attached to a live machine).
  function volumesPage() {
    const table = document.getElementById("volumes");
    const tbody = table.querySelector("tbody");
    const form = document.getElementById("create-volume");
    form.hidden = !canWrite;
    const labels = { vendor: "Vendor", region: "Region", size_gb: "Size", name: "Name" };
    let timer;
    async function refresh() {
      clearTimeout(timer);
      try {
        const vs = await api("GET", "/volumes");
        setText("summary", vs.length ? vs.length + " volumes." : "No volumes yet.");
        tbody.replaceChildren(...vs.map((v) => {
          const state = el("span", v.status, "state state-" + v.status);
          if (v.status_message) state.title = v.status_message;
          let action = { text: "" };
          if (canWrite && (v.status === "available" || v.status === "failed")) {
            const del = el("button", "Delete", "small danger");
            del.type = "button";
            del.dataset.id = v.id;
            del.setAttribute("aria-label", "Delete volume " + v.name);
            action = { node: del, cls: "action" };
          }
          return row(table, [
            { text: v.name, title: v.id }, { node: state }, { text: v.vendor }, { text: v.vendor_region },
            { text: v.size_gb, cls: "num" }, { text: v.mount_path || "–" }, { text: v.attached_to || "–" },
            { text: money(v.price_per_hour), title: exact(v.price_per_hour), cls: "num" },
            { text: money(v.accrued_cost), title: exact(v.accrued_cost), cls: "num" }, action,
          ]);
        }));
      } catch (e) {
        setText("summary", e.message);
      }
      timer = setTimeout(refresh, 5000);
    }
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const f = form.elements;
      try {
        await api("POST", "/volumes", { vendor: f.vendor.value.trim(), region: f.region.value.trim(), size_gb: Number(f.size_gb.value), name: f.name.value.trim() }, undefined, labels);
        setText("create-error", "");
      } catch (e) {
        setText("create-error", e.message);
      }
      refresh();
    });
    tbody.addEventListener("click", async (ev) => {
      const b = ev.target.closest("button[data-id]");
      if (!b) return;
      try {
        await api("DELETE", "/volumes/" + b.dataset.id);
      } catch (e) {
        setText("summary", e.message);
        return;
      }
      refresh();
    });
    refresh();
  }

  const page = document.body.dataset.page;
  if (page === "offers") offersPage();
  if (page === "machines") machinesPage();
  if (page === "vendors") vendorsPage();
  if (page === "team") teamPage();
  if (page === "volumes") volumesPage();
})();
