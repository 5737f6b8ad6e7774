using System.Collections.Concurrent;
using System.Net;
using System.Text;
using CurWorkflows.Workflows.Hosting;

namespace CurWorkflows.Service.Tests.Infrastructure;

/// <summary>
/// A stand-in for an OpenTelemetry collector: accepts OTLP/HTTP metric, trace and log exports and keeps their bodies. An
/// export is protobuf; the names of spans, instruments and attributes and their string values are UTF-8 within it, so
/// a test reads a body as text. Built on <see cref="HttpListener"/>, not ASP.NET Core: the service's tracing listens
/// to ASP.NET Core's activity source process-wide, and would trace the collector's own requests.
/// </summary>
public sealed class OtlpCollector : IAsyncDisposable
{
    private readonly HttpListener listener = new();
    private readonly ConcurrentQueue<string> metrics = new();
    private readonly ConcurrentQueue<string> traces = new();
    private readonly ConcurrentQueue<string> logs = new();
    private readonly Task serving;

    private OtlpCollector()
    {
        var port = EmbeddedTemporalServer.FreeLoopbackPort();
        Address = new Uri($"http://127.0.0.1:{port}/");
        listener.Prefixes.Add(Address.ToString());
        listener.Start();
        serving = Task.Run(ServeAsync);
    }

    public Uri Address { get; }

    /// <summary>The value for <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>.</summary>
    public string Endpoint => Address.ToString().TrimEnd('/');

    public IReadOnlyCollection<string> Metrics => metrics;

    public IReadOnlyCollection<string> Traces => traces;

    public IReadOnlyCollection<string> Logs => logs;

    public static Task<OtlpCollector> StartAsync() => Task.FromResult(new OtlpCollector());

    /// <summary>Waits for one metric export that satisfies <paramref name="predicate"/> and returns it.</summary>
    public Task<string> WaitForMetricsAsync(Func<string, bool> predicate, TimeSpan timeout) =>
        WaitAsync(metrics, () => metrics.FirstOrDefault(predicate), timeout);

    /// <summary>Waits until the text of every trace export so far satisfies <paramref name="predicate"/>: a trace's
    /// spans end, and are exported, in several batches.</summary>
    public Task WaitForTracesAsync(Func<string, bool> predicate, TimeSpan timeout) => WaitForAllAsync(traces, predicate, timeout);

    public Task WaitForLogsAsync(Func<string, bool> predicate, TimeSpan timeout) => WaitForAllAsync(logs, predicate, timeout);

    private static Task<string> WaitForAllAsync(ConcurrentQueue<string> bodies, Func<string, bool> predicate, TimeSpan timeout) =>
        WaitAsync(bodies, () => string.Join('\n', bodies) is var all && predicate(all) ? all : null, timeout);

    public async ValueTask DisposeAsync()
    {
        listener.Stop();
        listener.Close();
        await serving;
    }

    private async Task ServeAsync()
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            var bodies = context.Request.Url?.AbsolutePath switch
            {
                "/v1/metrics" => metrics,
                "/v1/traces" => traces,
                "/v1/logs" => logs,
                _ => null,
            };
            bodies?.Enqueue(Encoding.UTF8.GetString(body.ToArray()));
            context.Response.StatusCode = bodies is null ? 404 : 200;
            context.Response.ContentType = "application/x-protobuf";
            context.Response.Close();
        }
    }

    /// <summary>Polls <paramref name="find"/> until it finds something, failing after <paramref name="timeout"/>.</summary>
    private static async Task<string> WaitAsync(ConcurrentQueue<string> bodies, Func<string?> find, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (find() is { } found)
            {
                return found;
            }

            if (DateTime.UtcNow >= deadline)
            {
                Assert.Fail($"no matching OTLP export within {timeout} ({bodies.Count} received; every string in them, once: {Printable(bodies)})");
            }

            await Task.Delay(100);
        }
    }

    // The strings of protobuf bodies, each distinct one once (exports repeat the same instruments), for a failure message.
    private static string Printable(IEnumerable<string> bodies)
    {
        var strings = bodies
            .SelectMany(body => System.Text.RegularExpressions.Regex.Matches(body, "[ -~]{4,}").Select(m => m.Value))
            .Distinct(StringComparer.Ordinal);
        var text = string.Join(" ", strings);
        return text.Length == 0 ? "none" : text.Length <= 8000 ? text : text[..8000] + "...";
    }
}
