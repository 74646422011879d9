// Command peersimport turns the workload that ../shared/peers writes
// (`peers gen -jsonl FILE`) into `gatehouse import` files, so that the
// peers' facts load through Gatehouse's bulk write route:
//
//	peersimport -in peers.jsonl -out DIR
//
// writes DIR/orgs.txt (one org id a line: create them, and in each the
// custom role "member" of level 0 with no permission, as the peers'
// loader does), DIR/structure.jsonl (namespaces, then chains) and
// DIR/facts.jsonl (every user created once, by user.create in the org of
// its first membership, then the other memberships, namespace roles and
// shares). Lines are grouped by org, keeping the file's order within an
// org, so that `gatehouse import` sends full batches of 1,000.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

type in struct {
	Org       string   `json:"org"`
	Namespace string   `json:"namespace"`
	Chain     string   `json:"chain"`
	User      string   `json:"user"`
	Role      string   `json:"role"`
	Actions   []string `json:"actions"`
}

type out map[string]any

func main() {
	inPath := flag.String("in", "", "peers gen -jsonl output")
	dir := flag.String("out", "", "directory for orgs.txt, structure.jsonl and facts.jsonl")
	flag.Parse()
	if err := run(*inPath, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "peersimport:", err)
		os.Exit(1)
	}
}

func run(inPath, dir string) error {
	f, err := os.Open(inPath)
	if err != nil {
		return err
	}
	defer f.Close()
	var orgs []string
	structure := map[string][]out{}
	users := map[string][]out{}
	facts := map[string][]out{}
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var l in
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return err
		}
		o := l.Org
		switch {
		case l.User == "" && l.Namespace == "":
			orgs = append(orgs, o)
		case l.User == "" && l.Chain == "":
			structure[o] = append(structure[o], out{"org": o, "op": "namespace.create", "namespace": l.Namespace})
		case l.User == "":
			structure[o] = append(structure[o], out{"org": o, "op": "resource.create", "namespace": l.Namespace, "type": "chains", "id": l.Chain})
		case l.Chain != "":
			facts[o] = append(facts[o], out{"org": o, "op": "share.create", "namespace": l.Namespace, "type": "chains", "id": l.Chain,
				"principal": "user:" + l.User, "actions": l.Actions})
		case l.Namespace != "":
			facts[o] = append(facts[o], out{"org": o, "op": "binding.create", "principal": "user:" + l.User, "role": l.Role,
				"scope": map[string]string{"namespace": l.Namespace}})
		default: // a membership, with an org role or none ("member")
			role := l.Role
			if role == "" {
				role = "member"
			}
			if !seen[l.User] {
				seen[l.User] = true
				users[o] = append(users[o], out{"org": o, "op": "user.create", "user": l.User, "email": l.User + "@peers.test", "role": role})
			} else {
				facts[o] = append(facts[o], out{"org": o, "op": "member.add", "user": l.User, "role": role})
			}
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "orgs.txt"), []byte(joinLines(orgs)), 0o644); err != nil {
		return err
	}
	if err := write(filepath.Join(dir, "structure.jsonl"), orgs, structure); err != nil {
		return err
	}
	return write(filepath.Join(dir, "facts.jsonl"), orgs, users, facts)
}

func joinLines(ss []string) string {
	var s string
	for _, x := range ss {
		s += x + "\n"
	}
	return s
}

// write writes each group's lines org by org, groups in order.
func write(path string, orgs []string, groups ...map[string][]out) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for _, g := range groups {
		for _, o := range orgs {
			for _, l := range g[o] {
				if err := enc.Encode(l); err != nil {
					f.Close()
					return err
				}
			}
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
