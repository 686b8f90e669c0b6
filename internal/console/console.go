// Package console is supply's web console: pages to find, rent, watch and
// return GPUs in a browser, served by the binary at / with every asset
// embedded (no CDN, no build step).
//
// The pages are html/template shells; a small committed script fills them
// by calling the JSON API itself, authenticated by the session cookie the
// sign-in form sets, so the console shows exactly what the API answers and
// re-implements none of it. The cookie is HttpOnly and SameSite=Strict and
// holds a random token, never the key, of which the store keeps only the
// hash (see Sessions). Every request with
// the cookie that changes state must carry the page's CSRF token (forms in
// a field, the script in the X-CSRF-Token header), and every page carries
// a Content-Security-Policy that allows no inline script or style.
package console

import (
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gpusupply/supply/internal/api"
	"github.com/gpusupply/supply/internal/apikeys"
	"github.com/gpusupply/supply/internal/roles"
)

// CSP is the Content-Security-Policy of every console page: scripts,
// styles and connections from this origin only, nothing inline, no
// framing.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// maxFormBytes bounds a sign-in or sign-out form.
const maxFormBytes = 8 << 10

// Config is what the console needs.
type Config struct {
	// API is the API the pages call; it checks keys typed into the
	// sign-in form (with its limit on invalid keys) and serves the
	// console's routes.
	API *api.API
	// Sessions issues and checks session cookies; the API must have the
	// same Sessions in its Config.
	Sessions *Sessions
	// Sandbox shows the sandbox banner.
	Sandbox bool
	// Logger receives errors; nil discards.
	Logger *slog.Logger
}

type console struct {
	cfg   Config
	log   *slog.Logger
	pages map[string]*template.Template
}

// pageData is what every template gets.
type pageData struct {
	Page    string
	Title   string
	CSRF    string
	Sandbox bool
	Error   string
	// Path is the address of a page that is not there.
	Path string
	// Role is the signed-in key's role: the pages show only what it may do.
	Role roles.Role
}

// pages are the console's pages behind a sign-in: template name, path,
// title, and the role a key needs to see it (its API calls need the same).
var pages = []struct {
	name, path, title string
	need              roles.Role
}{
	{"offers", "/{$}", "Offers", roles.Viewer},
	{"machines", "/machines", "Machines", roles.Viewer},
	{"vendors", "/vendors", "Vendors", roles.Viewer},
	{"volumes", "/storage", "Volumes", roles.Viewer},
	{"team", "/team", "Team", roles.Admin},
}

// Register adds the console's routes to cfg.API: the pages, sign-in and
// sign-out, the assets, and the page a browser gets for an address that
// is none of them (API clients keep their JSON 404).
func Register(cfg Config) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c := &console{cfg: cfg, log: cfg.Logger, pages: map[string]*template.Template{}}
	for _, name := range []string{"offers", "machines", "vendors", "volumes", "team", "signin", "notfound"} {
		c.pages[name] = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	// Go's cross-origin protection refuses state-changing requests that
	// a browser marks as coming from another site: the sign-in form has
	// no session yet to bind a token to.
	cop := http.NewCrossOriginProtection()
	a := cfg.API
	for _, p := range pages {
		a.Handle("GET "+p.path, secured(c.page(p.name, p.title, p.need)))
	}
	a.Handle("GET /signin", secured(http.HandlerFunc(c.signInPage)))
	a.Handle("POST /signin", secured(cop.Handler(http.HandlerFunc(c.signIn))))
	a.Handle("POST /signout", secured(cop.Handler(http.HandlerFunc(c.signOut))))
	a.HandlePageNotFound(secured(http.HandlerFunc(c.notFound)))
	assets := http.FileServerFS(assetFS)
	a.Handle("GET /assets/{file}", secured(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		assets.ServeHTTP(w, r)
	})))
}

// secured sets the headers every console response carries.
func secured(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", CSP)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

// page serves a page behind the sign-in; without a valid session it sends
// the browser to the sign-in form, and a key whose role lacks need to the
// offers.
func (c *console) page(name, title string, need roles.Role) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, err := c.cfg.Sessions.fromRequest(r)
		switch {
		case errors.Is(err, api.ErrNoSession):
			http.Redirect(w, r, "/signin", http.StatusSeeOther)
			return
		case errors.Is(err, apikeys.ErrUnknownKey):
			// Expired, signed out, revoked, or its key was: forget it.
			http.SetCookie(w, cookie(r, session{}))
			http.Redirect(w, r, "/signin", http.StatusSeeOther)
			return
		case err != nil:
			c.log.ErrorContext(r.Context(), "console session", "error", err)
			c.render(w, http.StatusServiceUnavailable, "signin", pageData{Error: "Signing in is unavailable right now; try again in a moment."})
			return
		}
		role := sess.key().Role
		if !role.Includes(need) {
			http.Redirect(w, r, "/", http.StatusSeeOther)
			return
		}
		c.render(w, http.StatusOK, name, pageData{Page: name, Title: title, CSRF: csrfToken(sess.token), Role: role})
	})
}

// notFound is the page for an address that is no page: with the
// console's navigation for a signed-in browser, and a way to sign in for
// another.
func (c *console) notFound(w http.ResponseWriter, r *http.Request) {
	d := pageData{Title: "Not found", Path: r.URL.Path}
	if sess, err := c.cfg.Sessions.fromRequest(r); err == nil {
		d.CSRF, d.Role = csrfToken(sess.token), sess.key().Role
	}
	c.render(w, http.StatusNotFound, "notfound", d)
}

func (c *console) render(w http.ResponseWriter, status int, name string, d pageData) {
	if d.Page == "" {
		d.Page = name
	}
	if d.Title == "" {
		d.Title = "Sign in"
	}
	d.Sandbox = c.cfg.Sandbox
	var b strings.Builder
	if err := c.pages[name].ExecuteTemplate(&b, "layout", d); err != nil {
		c.log.Error("console template", "page", name, "error", err)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

func (c *console) signInPage(w http.ResponseWriter, r *http.Request) {
	if _, err := c.cfg.Sessions.fromRequest(r); err == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	c.render(w, http.StatusOK, "signin", pageData{})
}

// signIn checks the key from the form and answers with the session cookie.
// The key arrives in the body of a POST, so it never appears in a URL or
// in the request log (which has the method and path only).
func (c *console) signIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		c.render(w, http.StatusBadRequest, "signin", pageData{Error: "The form could not be read; try again."})
		return
	}
	key := strings.TrimSpace(r.PostForm.Get("api_key"))
	_, err := c.cfg.API.CheckKey(r, key)
	switch {
	case errors.Is(err, apikeys.ErrUnknownKey):
		c.render(w, http.StatusUnauthorized, "signin", pageData{Error: "That API key is not valid. Keys start with sk_supply_; " +
			"check that none of it is missing, or make a new one with: supply keys create --account NAME"})
		return
	case errors.Is(err, api.ErrTooManyFailures):
		c.render(w, http.StatusTooManyRequests, "signin", pageData{Error: "Too many invalid keys from this address (" + err.Error() + "); wait and try again."})
		return
	case err != nil:
		c.log.ErrorContext(r.Context(), "console sign-in", "error", err)
		c.render(w, http.StatusServiceUnavailable, "signin", pageData{Error: "Signing in is unavailable right now; try again in a moment."})
		return
	}
	sess, err := c.cfg.Sessions.start(r, key)
	switch {
	case errors.Is(err, apikeys.ErrUnknownKey):
		c.render(w, http.StatusUnauthorized, "signin", pageData{Error: "That API key has just been revoked."})
		return
	case err != nil:
		c.log.ErrorContext(r.Context(), "console sign-in", "error", err)
		c.render(w, http.StatusServiceUnavailable, "signin", pageData{Error: "Could not start a session; try again in a moment."})
		return
	}
	http.SetCookie(w, cookie(r, sess))
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// signOut ends the session in the store, so that its cookie opens nothing
// any more, wherever it was copied to, and clears the cookie; the form
// must carry the session's CSRF token, so that no other page can sign a
// user out.
func (c *console) signOut(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "Bad Request", http.StatusBadRequest)
		return
	}
	if ck, err := r.Cookie(CookieName); err == nil {
		if t, err := parseToken(ck.Value); err == nil {
			if checkCSRF(t, r.PostForm.Get("csrf_token")) != nil {
				http.Error(w, "CSRF token missing or invalid", http.StatusForbidden)
				return
			}
			if err := c.cfg.Sessions.end(r.Context(), t); err != nil {
				c.log.ErrorContext(r.Context(), "console sign-out", "error", err)
				c.render(w, http.StatusServiceUnavailable, "signin", pageData{Error: "Signing out failed; try again in a moment."})
				return
			}
		}
	}
	http.SetCookie(w, cookie(r, session{}))
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}
