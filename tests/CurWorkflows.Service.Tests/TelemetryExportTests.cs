using System.Net;
using CurWorkflows.Service.Extensions;
using CurWorkflows.Service.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace CurWorkflows.Service.Tests;

/// <summary>The service's own telemetry over OTLP, asserted on what a stand-in collector receives.</summary>
[Collection(ProcessWideTelemetryCollection.Name)]
public sealed class TelemetryExportTests
{
    [Fact]
    public async Task With_an_otlp_endpoint_the_service_pushes_its_http_and_runtime_metrics_and_without_one_or_with_none_sets_up_no_exporter()
    {
        await using var collector = await OtlpCollector.StartAsync();
        var contentRoot = TestEnvironment.NewTempDirectory("otlp");
        var settings = TestEnvironment.ApiWithUnreachableTemporal(contentRoot);

        await using (var host = await ServiceTestHost.StartAsync(new Dictionary<string, string?>(settings)
        {
            [ServiceTelemetry.OtlpEndpointKey] = collector.Endpoint,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "200",
        }, contentRoot))
        {
            using var client = host.CreateClient();
            using (var live = await client.GetAsync(new Uri("/health/live", UriKind.Relative)))
            {
                Assert.Equal(HttpStatusCode.OK, live.StatusCode);
            }

            // An export is protobuf; the names of instruments, attributes and the service are its UTF-8 strings.
            var export = await collector.WaitForMetricsAsync(
                body => body.Contains("http.server.request.duration", StringComparison.Ordinal) && body.Contains("/health/live", StringComparison.Ordinal),
                TimeSpan.FromSeconds(30));
            Assert.Contains(ServiceTelemetry.DefaultServiceName, export, StringComparison.Ordinal);
            await collector.WaitForMetricsAsync(body => body.Contains("dotnet.gc.", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
            Assert.NotNull(host.Services.GetService<OpenTelemetry.Metrics.MeterProvider>());
        }

        await using (var quiet = await ServiceTestHost.StartAsync(settings, contentRoot))
        {
            Assert.Null(quiet.Services.GetService<OpenTelemetry.Metrics.MeterProvider>());
            Assert.Null(quiet.Services.GetService<OpenTelemetry.Trace.TracerProvider>());
            Assert.Null(quiet.Services.GetService<OpenTelemetry.Logs.LoggerProvider>());
        }

        // The specification's "none" leaves a signal out.
        foreach (var variable in new[] { "OTEL_METRICS_EXPORTER", "OTEL_TRACES_EXPORTER", "OTEL_LOGS_EXPORTER" })
        {
            await using var host = await ServiceTestHost.StartAsync(new Dictionary<string, string?>(settings)
            {
                [ServiceTelemetry.OtlpEndpointKey] = collector.Endpoint,
                [variable] = "none",
            }, contentRoot);
            Assert.Equal(
                (variable != "OTEL_METRICS_EXPORTER", variable != "OTEL_TRACES_EXPORTER", variable != "OTEL_LOGS_EXPORTER"),
                (host.Services.GetService<OpenTelemetry.Metrics.MeterProvider>() is not null,
                    host.Services.GetService<OpenTelemetry.Trace.TracerProvider>() is not null,
                    host.Services.GetService<OpenTelemetry.Logs.LoggerProvider>() is not null));
        }
    }
}
