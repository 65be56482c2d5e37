// Package crds holds the Go types whose CustomResourceDefinitions the test control plane
// installs: testcluster.sh runs controller-gen (a tool of this module) on them.
package crds

import (
	// ServiceMonitor, PodMonitor, PrometheusRule (monitoring.coreos.com/v1)
	_ "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
)
