// Command etcdctl wraps etcd's control tool; the tests use it to compact etcd.
package main

import "go.etcd.io/etcd/etcdctl/v3/ctlv3"

func main() { ctlv3.MustStart() }
