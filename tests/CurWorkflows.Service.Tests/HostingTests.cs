using System.Net;
using System.Text.Json;
using CurWorkflows.Service.Extensions;
using CurWorkflows.Service.Tests.Infrastructure;

namespace CurWorkflows.Service.Tests;

public sealed class HostingTests
{
    [Fact]
    public async Task Without_a_Temporal_address_the_service_starts_its_own_dev_server_with_UI_and_stops_it()
    {
        var contentRoot = TestEnvironment.NewTempDirectory("embedded");
        string uiUrl;
        string temporalAddress;
        string? bootstrapKey;
        var settings = new Dictionary<string, string?>
        {
            ["Temporal:EmbeddedPort"] = "0",
            ["Temporal:EmbeddedUiPort"] = "0",
            ["Temporal:CliPath"] = TestEnvironment.TemporalCliPath,
            ["ConnectionStrings:CurWorkflows"] = $"Data Source={Path.Combine(contentRoot, "curworkflows.db")}",
        };
        await using (var host = await ServiceTestHost.StartAsync(settings, contentRoot))
        {
            Assert.NotNull(host.Startup.Temporal);
            uiUrl = host.Startup.Temporal!.UiUrl;
            temporalAddress = host.Startup.Temporal.Address;
            Assert.True(File.Exists(Path.Combine(contentRoot, ".data", "temporal.db")));

            using var client = host.CreateClient();
            using var ready = await client.GetAsync(new Uri("/health/ready", UriKind.Relative));
            var body = await ready.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            var checks = JsonDocument.Parse(body).RootElement.GetProperty("checks");
            Assert.Equal("Healthy", checks.GetProperty("temporal").GetProperty("status").GetString());
            Assert.Equal("Healthy", checks.GetProperty("database").GetProperty("status").GetString());

            using var ui = await client.GetAsync(new Uri(uiUrl));
            Assert.Equal(HttpStatusCode.OK, ui.StatusCode);

            // The bootstrap key of the first start opens the API.
            bootstrapKey = host.GetRequiredService<StartupNotes>().BootstrapApiKey;
            Assert.NotNull(bootstrapKey);
            using var authorized = host.CreateClient(bootstrapKey);
            using var integrations = await authorized.GetAsync(new Uri("/api/v1/integrations", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, integrations.StatusCode);
        }

        // A second start on the same data creates no new key; the first one still works.
        await using (var again = await ServiceTestHost.StartAsync(settings, contentRoot))
        {
            Assert.Null(again.GetRequiredService<StartupNotes>().BootstrapApiKey);
            using var authorized = again.CreateClient(bootstrapKey);
            using var integrations = await authorized.GetAsync(new Uri("/api/v1/integrations", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, integrations.StatusCode);
        }

        using var afterStop = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        await Assert.ThrowsAsync<HttpRequestException>(() => afterStop.GetAsync(new Uri(uiUrl)));
        Assert.False(string.IsNullOrEmpty(temporalAddress));
    }

    [Fact]
    public async Task Readiness_reports_unhealthy_when_the_external_Temporal_is_not_reachable()
    {
        var unusedPort = Workflows.Hosting.EmbeddedTemporalServer.FreeLoopbackPort();
        var contentRoot = TestEnvironment.NewTempDirectory("unreachable");
        await using var host = await ServiceTestHost.StartAsync(new Dictionary<string, string?>
        {
            ["ConnectionStrings:CurWorkflows"] = $"Data Source={Path.Combine(contentRoot, "curworkflows.db")}",
            ["Temporal:Address"] = $"127.0.0.1:{unusedPort}",
            ["Host:Role"] = "Api",
        }, contentRoot);
        using var client = host.CreateClient();

        using var live = await client.GetAsync(new Uri("/health/live", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);

        using var ready = await client.GetAsync(new Uri("/health/ready", UriKind.Relative));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        var body = await ready.Content.ReadAsStringAsync();
        Assert.Contains("\"temporal\":{\"status\":\"Unhealthy\"", body, StringComparison.Ordinal);
        Assert.Contains("\"database\":{\"status\":\"Healthy\"", body, StringComparison.Ordinal);
    }
}
