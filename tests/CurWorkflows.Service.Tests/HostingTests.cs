using System.Net;
using System.Text.Json;
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
        await using (var host = await ServiceTestHost.StartAsync(
            new Dictionary<string, string?>
            {
                ["Temporal:EmbeddedPort"] = "0",
                ["Temporal:EmbeddedUiPort"] = "0",
                ["Temporal:CliPath"] = TestEnvironment.TemporalCliPath,
            },
            contentRoot))
        {
            Assert.NotNull(host.Startup.Temporal);
            uiUrl = host.Startup.Temporal!.UiUrl;
            temporalAddress = host.Startup.Temporal.Address;
            Assert.True(File.Exists(Path.Combine(contentRoot, ".data", "temporal.db")));

            using var client = host.CreateClient();
            using var ready = await client.GetAsync(new Uri("/health/ready", UriKind.Relative));
            var body = await ready.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            Assert.Equal("Healthy", JsonDocument.Parse(body).RootElement.GetProperty("checks").GetProperty("temporal").GetProperty("status").GetString());

            using var ui = await client.GetAsync(new Uri(uiUrl));
            Assert.Equal(HttpStatusCode.OK, ui.StatusCode);
        }

        using var afterStop = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        await Assert.ThrowsAsync<HttpRequestException>(() => afterStop.GetAsync(new Uri(uiUrl)));
        Assert.False(string.IsNullOrEmpty(temporalAddress));
    }

    [Fact]
    public async Task Readiness_reports_unhealthy_when_the_external_Temporal_is_not_reachable()
    {
        var unusedPort = Temporal.EmbeddedTemporalServer.FreeLoopbackPort();
        await using var host = await ServiceTestHost.StartAsync(new Dictionary<string, string?>
        {
            ["Temporal:Address"] = $"127.0.0.1:{unusedPort}",
            ["Host:Role"] = "Api",
        });
        using var client = host.CreateClient();

        using var live = await client.GetAsync(new Uri("/health/live", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);

        using var ready = await client.GetAsync(new Uri("/health/ready", UriKind.Relative));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        var body = await ready.Content.ReadAsStringAsync();
        Assert.Contains("\"temporal\":{\"status\":\"Unhealthy\"", body, StringComparison.Ordinal);
    }
}
