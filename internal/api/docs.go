package api

import (
	"embed"
	"net/http"
)

// docsUI is the renderer of GET /docs, Stoplight Elements (see
// docsui/SOURCE.md), embedded so that the page works without internet:
// huma's own page loads it from a public CDN.
//
//go:embed docsui/web-components.min.js docsui/styles.min.css
var docsUI embed.FS

// docsPage loads the renderer from /docs/ and the document from
// /openapi.yaml, both served by this binary.
const docsPage = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="referrer" content="no-referrer">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Supply Service Reference</title>
    <link rel="stylesheet" href="/docs/styles.min.css">
    <script src="/docs/web-components.min.js"></script>
    <style>
      body { margin: 0; }
      nav.console { font: 14px system-ui, sans-serif; padding: 6px 16px; border-bottom: 1px solid #d6dbe0; background: #f5f7f9; }
      nav.console a { color: #0b5cad; text-decoration: none; }
    </style>
  </head>
  <body>
    <nav class="console"><a href="/">← supply console</a></nav>
    <elements-api apiDescriptionUrl="/openapi.yaml" router="hash" layout="responsive" tryItCredentialsPolicy="same-origin"></elements-api>
  </body>
</html>
`

// docsCSP allows scripts and style sheets from this origin only; Elements
// sets style attributes as it renders, hence 'unsafe-inline' for styles.
const docsCSP = "default-src 'none'; base-uri 'none'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; " +
	"img-src 'self' data:; font-src 'self' data:; script-src 'self'; style-src 'self' 'unsafe-inline'"

func (a *API) registerDocs() {
	a.mux.HandleFunc("GET /docs", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Security-Policy", docsCSP)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(docsPage))
	})
	files := http.FileServerFS(docsUI)
	a.mux.Handle("GET /docs/{file}", http.StripPrefix("/docs/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		r.URL.Path = "docsui/" + r.URL.Path
		files.ServeHTTP(w, r)
	})))
}
