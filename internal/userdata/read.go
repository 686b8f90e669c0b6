package userdata

import (
	"bufio"
	"io"
	"mime"
	"mime/multipart"
	"net/textproto"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Received is user data that CloudInit or StartupScript built, read back
// as the machine that receives it would read it: what a sandbox host
// needs to stand in for that machine.
type Received struct {
	// RootKeys are the keys cloud-init gives root: the
	// ssh_authorized_keys of every cloud-config in the document (supply's
	// sets disable_root: false). A start-up script's key is not read back:
	// the vendors that run one also carry the key in a field of their own.
	RootKeys []string
	// Renter is the renter's own cloud_init as procured ("" when none).
	Renter string
}

// Read reads user data or a start-up script back. It never fails: what it
// cannot parse (a renter's broken YAML, a foreign document) yields no keys
// and no renter part, as cloud-init would skip it.
func Read(doc string) Received {
	if strings.HasPrefix(doc, "#!") {
		return Received{Renter: heredoc(doc)}
	}
	var r Received
	for _, p := range parts(doc) {
		if p.name == renterPart {
			r.Renter = p.body
		}
		if strings.HasPrefix(p.body, "#cloud-config") {
			r.RootKeys = append(r.RootKeys, cloudConfig(p.body).SSHAuthorizedKeys...)
		}
	}
	return r
}

// heredoc is the renter's document inside a start-up script, or "".
func heredoc(script string) string {
	_, rest, ok := strings.Cut(script, renterHeredoc)
	if !ok {
		return ""
	}
	body, _, ok := strings.Cut(rest, "\n"+renterMarker+"\n")
	if !ok {
		return ""
	}
	return body
}

type part struct{ name, body string }

// parts splits a MIME multipart archive into its parts; any other
// document is one part.
func parts(doc string) []part {
	header, err := textproto.NewReader(bufio.NewReader(strings.NewReader(doc))).ReadMIMEHeader()
	mediaType, params, perr := mime.ParseMediaType(header.Get("Content-Type"))
	if err != nil || perr != nil || mediaType != "multipart/mixed" || params["boundary"] == "" {
		return []part{{body: doc}}
	}
	var out []part
	mr := multipart.NewReader(strings.NewReader(doc), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			return out
		}
		body, err := io.ReadAll(p)
		if err != nil {
			return out
		}
		out = append(out, part{name: p.FileName(), body: string(body)})
	}
}

// config is the part of a cloud-config a sandbox machine acts on.
type config struct {
	SSHAuthorizedKeys []string `yaml:"ssh_authorized_keys"`
	// RunCmd entries are a string (a shell line) or a list (one command's
	// arguments).
	RunCmd []yaml.Node `yaml:"runcmd"`
}

func cloudConfig(doc string) config {
	var c config
	if yaml.Unmarshal([]byte(doc), &c) != nil {
		return config{}
	}
	return c
}

// FirstBoot is the shell script a machine runs once, at first boot, for a
// renter's cloud_init: a script as it is; for a cloud-config, its runcmd
// entries in one sh script, as cloud-init writes them (a string entry as
// a line, a list as one command with each argument quoted). Other
// cloud-config modules (packages, write_files, users) have no script and
// are left out. "" means nothing to run.
func FirstBoot(renter string) string {
	switch kind, _ := Classify(renter); kind {
	case Script:
		return renter
	case CloudConfig:
		c := cloudConfig(renter)
		if len(c.RunCmd) == 0 {
			return ""
		}
		var b strings.Builder
		b.WriteString("#!/bin/sh\n")
		for _, n := range c.RunCmd {
			switch n.Kind {
			case yaml.ScalarNode:
				b.WriteString(n.Value + "\n")
			case yaml.SequenceNode:
				args := make([]string, len(n.Content))
				for i, a := range n.Content {
					args[i] = shellQuote(a.Value)
				}
				b.WriteString(strings.Join(args, " ") + "\n")
			}
		}
		return b.String()
	}
	return ""
}
