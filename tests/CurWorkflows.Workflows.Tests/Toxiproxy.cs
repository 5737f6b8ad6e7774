using System.Diagnostics;
using System.Net.Http.Json;

namespace CurWorkflows.Workflows.Tests;

/// <summary>A toxiproxy server (../shared/tools/toxiproxy-server) with one TCP proxy, driven over its HTTP API.</summary>
public sealed class Toxiproxy : IAsyncDisposable
{
    private readonly Process server;
    private readonly HttpClient http;

    private Toxiproxy(Process server, HttpClient http)
    {
        this.server = server;
        this.http = http;
    }

    public static string? ServerPath()
    {
        var path = Path.GetFullPath(Path.Combine(TestPaths.RepositoryRoot(), "..", "shared", "tools", "toxiproxy-server"));
        return File.Exists(path) ? path : null;
    }

    public static async Task<Toxiproxy> StartAsync()
    {
        var apiPort = FreePort();
        var server = Process.Start(new ProcessStartInfo(ServerPath() ?? throw new FileNotFoundException("toxiproxy-server"),
            ["-host", "127.0.0.1", "-port", apiPort.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{apiPort}/") };
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                return (await http.GetAsync("version")).IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, "toxiproxy answers", TimeSpan.FromSeconds(10));
        return new Toxiproxy(server, http);
    }

    /// <summary>Creates a proxy from a free loopback port to <paramref name="upstream"/>; returns the listen port.</summary>
    public async Task<int> CreateProxyAsync(string name, string upstream)
    {
        var port = FreePort();
        var response = await http.PostAsJsonAsync("proxies", new { name, listen = $"127.0.0.1:{port}", upstream, enabled = true });
        response.EnsureSuccessStatusCode();
        return port;
    }

    /// <summary>Disabling a proxy closes its connections and refuses new ones: an outage.</summary>
    public async Task SetEnabledAsync(string name, bool enabled) =>
        (await http.PostAsJsonAsync($"proxies/{name}", new { enabled })).EnsureSuccessStatusCode();

    public async ValueTask DisposeAsync()
    {
        http.Dispose();
        if (!server.HasExited)
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }

        server.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>A fact that needs PostgreSQL (CURWORKFLOWS_TEST_POSTGRES) and toxiproxy; skipped only when they are absent.</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute()
    {
        if (CollectionEnvironment.PostgresConnectionString is null)
        {
            Skip = "CURWORKFLOWS_TEST_POSTGRES is not set";
        }
        else if (Toxiproxy.ServerPath() is null)
        {
            Skip = "../shared/tools/toxiproxy-server is missing";
        }
    }
}

/// <summary>A fact that needs toxiproxy (../shared/tools/toxiproxy-server); skipped only when it is absent.</summary>
public sealed class ToxiproxyFactAttribute : FactAttribute
{
    public ToxiproxyFactAttribute()
    {
        if (Toxiproxy.ServerPath() is null)
        {
            Skip = "../shared/tools/toxiproxy-server is missing";
        }
    }
}
