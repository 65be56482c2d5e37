// Command etcd is the upstream etcd server (go.etcd.io/etcd/server/v3/etcdmain),
// built in its own module so that its dependencies do not clash with Kubernetes'.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
