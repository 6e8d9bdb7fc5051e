// Command kstack is a multi-call binary holding every component of the local
// test cluster: etcd, kube-apiserver, kube-controller-manager, kube-scheduler
// and kwok. Linking them into one binary compiles their shared dependencies
// once and links once, which is most of the cold build time. (kubectl is
// built beside it from the release's own k8s.io/kubernetes/cmd/kubectl.)
//
// The component is chosen by the name the binary was invoked as (a symlink
// named "kube-scheduler" works as kube-scheduler) or, failing that, by the
// first argument:
//
//	kstack kube-apiserver --etcd-servers=...
//
// The same file builds every release in ../releases.ts (each with its own
// module file, go build -modfile=v1.32.mod): it calls nothing whose name or
// signature changed between them.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	_ "time/tzdata"

	"github.com/spf13/pflag"
	"go.etcd.io/etcd/server/v3/etcdmain"
	_ "k8s.io/client-go/plugin/pkg/client/auth"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kwokconfig "sigs.k8s.io/kwok/pkg/config"
	kwokcmd "sigs.k8s.io/kwok/pkg/kwok/cmd"
	kwoklog "sigs.k8s.io/kwok/pkg/log"
	kwoksignals "sigs.k8s.io/kwok/pkg/utils/signals"
)

var components = map[string]func() int{
	"etcd": func() int {
		etcdmain.Main(os.Args)
		return 0
	},
	"kube-apiserver":          func() int { return cli.Run(apiserver.NewAPIServerCommand()) },
	"kube-controller-manager": func() int { return cli.Run(controllermanager.NewControllerManagerCommand()) },
	"kube-scheduler":          func() int { return cli.Run(scheduler.NewSchedulerCommand()) },
	"kwok":                    runKwok,
}

func runKwok() int {
	// The Kubernetes components register a non-bool --version on the global
	// flag set, which cobra merges into kwok's root command, where it clashes
	// with kwok's own --version. Only one component runs per process, so kwok
	// gets a clean global flag set.
	pflag.CommandLine = pflag.NewFlagSet(os.Args[0], pflag.ExitOnError)
	flagset := pflag.NewFlagSet("global", pflag.ContinueOnError)
	// The deprecated name: the only one the pflag of Kubernetes 1.32 and 1.34 has.
	flagset.ParseErrorsWhitelist.UnknownFlags = true
	flagset.Usage = func() {}
	ctx := kwoksignals.SetupSignalContext()
	// kwok's logger changed its Error signature in v0.8; errors here go to stderr as they are.
	ctx, _ = kwoklog.InitFlags(ctx, flagset)
	ctx, err := kwokconfig.InitFlags(ctx, flagset)
	if err != nil {
		fmt.Fprintf(os.Stderr, "kwok: init config flags: %v\n", err)
		return 1
	}
	command := kwokcmd.NewCommand(ctx)
	command.PersistentFlags().AddFlagSet(flagset)
	if err := command.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "kwok: %v\n", err)
		return 1
	}
	return 0
}

func main() {
	name := filepath.Base(os.Args[0])
	if _, ok := components[name]; !ok {
		if len(os.Args) < 2 {
			usage()
		}
		name = os.Args[1]
		os.Args = append([]string{name}, os.Args[2:]...)
	}
	run, ok := components[name]
	if !ok {
		usage()
	}
	os.Exit(run())
}

func usage() {
	names := make([]string, 0, len(components))
	for n := range components {
		names = append(names, n)
	}
	fmt.Fprintf(os.Stderr, "usage: kstack COMPONENT [ARGS...]\ncomponents: %s\n", strings.Join(names, ", "))
	os.Exit(2)
}
