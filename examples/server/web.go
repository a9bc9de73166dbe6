package main

import "net/http"

// webHandler serves the demo page. Placeholder until the page lands.
func webHandler() http.Handler { return http.NotFoundHandler() }
