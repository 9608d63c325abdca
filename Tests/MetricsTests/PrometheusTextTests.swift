import Metrics
import Testing

@Suite("Metrics in Prometheus' text format")
struct PrometheusTextTests {
    @Test("families have HELP and TYPE lines once, then their samples; label values are escaped")
    func families() {
        var text = PrometheusText()
        text.single("appattach_staged_images", .gauge, help: "Images staged.\nNow.", 3)
        text.family("appattach_health", .gauge, help: "Health, 1 for the state the host is in.")
        text.sample("appattach_health", [("state", "Healthy")], 0)
        text.sample("appattach_health", [("state", "say \"hi\"\\\n")], 1)
        #expect(text.text == """
            # HELP appattach_staged_images Images staged.\\nNow.
            # TYPE appattach_staged_images gauge
            appattach_staged_images 3
            # HELP appattach_health Health, 1 for the state the host is in.
            # TYPE appattach_health gauge
            appattach_health{state="Healthy"} 0
            appattach_health{state="say \\"hi\\"\\\\\\n"} 1

            """)
    }

    @Test("a histogram's buckets are cumulative and end in +Inf; sum and count follow")
    func histogram() {
        var histogram = LatencyHistogram(bounds: [0.01, 0.1, 1])
        for seconds in [0.004, 0.01, 0.05, 0.5, 7, -1] { histogram.observe(seconds) }
        #expect(histogram.counts == [3, 1, 1])
        #expect(histogram.count == 6)
        var text = PrometheusText()
        text.histogram("appattach_signin_registration_seconds", help: "h", histogram)
        let lines = text.text.split(separator: "\n").map(String.init)
        #expect(lines.dropFirst(2).prefix(4) == [
            "appattach_signin_registration_seconds_bucket{le=\"0.01\"} 3",
            "appattach_signin_registration_seconds_bucket{le=\"0.1\"} 4",
            "appattach_signin_registration_seconds_bucket{le=\"1\"} 5",
            "appattach_signin_registration_seconds_bucket{le=\"+Inf\"} 6",
        ])
        #expect(lines.last == "appattach_signin_registration_seconds_count 6")
        #expect(lines.contains("appattach_signin_registration_seconds_sum 7.564"))
    }
}
