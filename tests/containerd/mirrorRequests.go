// Prints the registry requests a k3s node makes for image manifests, given the docker.io mirror entry of a
// registries.yaml, so tests check what we render against Go's own regexp engine (RE2, which containerd uses) rather
// than against JavaScript's. Written here after the behaviour of, and citing:
//   - k3s pkg/agent/containerd/config.go, normalizeEndpointAddress: an endpoint path other than "", "/" or "/v2" is
//     kept and written with override_path; otherwise the path is "/v2";
//   - k3s' containerd fork, core/remotes/docker/resolver.go: hosts are tried in order, the default endpoint
//     (https://registry-1.docker.io/v2) last and without rewrites; withRewritesFromHost walks the host's rewrite map
//     and keeps the first pattern whose ReplaceAllString changes the repository; the request path is
//     path.Join("/", host path, repository, "manifests", tag).
//
// Go walks a map in random order, so the input names an order and the test runs every order.
//
// stdin: {"endpoints": [...], "rewrites": [[pattern, replacement], ...], "images": ["rancher/mirrored-pause:3.6", ...]}
// stdout: one line per image: the image, then each URL asked for, tab-separated.
package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path"
	"regexp"
	"strings"
)

type input struct {
	Endpoints []string    `json:"endpoints"`
	Rewrites  [][2]string `json:"rewrites"`
	Images    []string    `json:"images"`
}

type host struct {
	base     string
	path     string
	rewrites [][2]string
}

func endpointHost(endpoint string, rewrites [][2]string) host {
	u, err := url.Parse(endpoint)
	if err != nil {
		fail("endpoint %q: %v", endpoint, err)
	}
	p := u.Path
	if p == "" || p == "/" || p == "/v2" {
		p = "/v2"
	}
	return host{base: u.Scheme + "://" + u.Host, path: p, rewrites: rewrites}
}

func rewrite(h host, repository string) string {
	for _, rule := range h.rewrites {
		exp, err := regexp.Compile(rule[0])
		if err != nil {
			fail("rewrite %q does not compile in Go: %v", rule[0], err)
		}
		if rr := exp.ReplaceAllString(repository, rule[1]); rr != repository {
			return rr
		}
	}
	return repository
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(2)
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		fail("input: %v", err)
	}
	hosts := []host{}
	for _, e := range in.Endpoints {
		hosts = append(hosts, endpointHost(e, in.Rewrites))
	}
	hosts = append(hosts, host{base: "https://registry-1.docker.io", path: "/v2"})
	for _, image := range in.Images {
		name, tag, ok := strings.Cut(image, ":")
		if !ok {
			fail("image %q has no tag", image)
		}
		line := []string{image}
		for _, h := range hosts {
			line = append(line, h.base+path.Join("/", h.path, rewrite(h, name), "manifests", tag))
		}
		fmt.Println(strings.Join(line, "\t"))
	}
}
