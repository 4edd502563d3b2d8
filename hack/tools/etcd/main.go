// Command etcd is a thin wrapper around etcd's server entry point, so etcd can
// be built from its Go module (its own root module carries replace directives).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
