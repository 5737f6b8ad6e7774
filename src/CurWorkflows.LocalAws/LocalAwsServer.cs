using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace CurWorkflows.LocalAws;

/// <summary>
/// A local AWS endpoint (STS, S3 path-style, Resource Groups Tagging) on 127.0.0.1, for tests and the demo.
/// Point the SDK's ServiceURL of all three services at <see cref="Url"/>; requests are told apart by the
/// service name in their SigV4 credential scope.
/// </summary>
public sealed class LocalAwsServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly bool _ownsDataDirectory;

    private LocalAwsServer(WebApplication app, LocalAwsState state, Uri url, bool ownsDataDirectory)
    {
        _app = app;
        State = state;
        Url = url;
        _ownsDataDirectory = ownsDataDirectory;
    }

    /// <summary>The base address, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri Url { get; }

    public ObjectStore Objects => State.Objects;

    public FaultInjector Faults => State.Faults;

    public LocalAwsCounters Counters => State.Counters;

    internal LocalAwsState State { get; }

    public static async Task<LocalAwsServer> StartAsync(LocalAwsOptions options, CancellationToken cancellationToken = default)
    {
        var ownsDataDirectory = options.DataDirectory is null;
        var dataDirectory = options.DataDirectory ?? Path.Combine(Path.GetTempPath(), "curworkflows-localaws-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDirectory);

        var state = new LocalAwsState(options, dataDirectory);
        foreach (var bucket in options.Buckets)
        {
            state.Objects.CreateBucket(bucket);
        }

        foreach (var seed in options.SeedDirectories)
        {
            state.Objects.CreateBucket(seed.Bucket);
            foreach (var file in Directory.EnumerateFiles(seed.Directory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                var key = seed.KeyPrefix + Path.GetRelativePath(seed.Directory, file).Replace(Path.DirectorySeparatorChar, '/');
                await state.Objects.PutObjectFromFileAsync(seed.Bucket, key, file, cancellationToken: cancellationToken);
            }
        }

        // An empty builder: no configuration files, so no reload watcher, which would cover the working directory
        // recursively and wake for every write under it (a worker's spool, in the benchmark run from /tmp).
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = [], EnvironmentName = "Production" });
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, options.Port);
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.AddServerHeader = false;
        });
        if (options.LoggerFactory is not null)
        {
            builder.Services.AddSingleton(options.LoggerFactory);
        }

        builder.Services.AddSingleton(state);
        builder.Services.AddSingleton<LocalAwsHandler>();

        var app = builder.Build();
        var handler = app.Services.GetRequiredService<LocalAwsHandler>();
        app.Run(handler.HandleAsync);
        await app.StartAsync(cancellationToken);

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new LocalAwsServer(app, state, new Uri(address.TrimEnd('/') + "/"), ownsDataDirectory);
    }

    public void CreateBucket(string bucket) => Objects.CreateBucket(bucket);

    /// <summary>Registers a resource for the tagging API's GetResources.</summary>
    public void AddTaggedResource(string resourceArn, IReadOnlyDictionary<string, string> tags) =>
        State.Tags[resourceArn] = new Dictionary<string, string>(tags, StringComparer.Ordinal);

    /// <summary>The secret keys and session tokens issued so far, for tests that check nothing leaks them.</summary>
    public IReadOnlyList<string> IssuedSecretsForLeakChecks() => State.Identities.IssuedSecrets();

    /// <summary>Makes every temporary credential issued so far expired.</summary>
    public void ExpireSessions() => State.Identities.ExpireSessions();

    /// <summary>Forgets every temporary credential issued so far, as a restart of the endpoint does.</summary>
    public void ForgetSessions() => State.Identities.ForgetSessions();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (_ownsDataDirectory)
        {
            try
            {
                Directory.Delete(State.DataDirectory, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: a temp folder left behind is harmless.
            }
        }
    }
}

internal sealed class LocalAwsState
{
    public LocalAwsState(LocalAwsOptions options, string dataDirectory)
    {
        Options = options;
        DataDirectory = dataDirectory;
        Identities = new IdentityStore(options);
        Roles = options.Roles.ToDictionary(
            r => r.RoleArn,
            r => (Trust: r, Policy: r.PolicyJson is not null ? IamPolicy.Parse(r.PolicyJson, r.RoleArn)
                : r.PolicyPath is not null ? IamPolicy.Load(r.PolicyPath) : null),
            StringComparer.Ordinal);
    }

    public LocalAwsOptions Options { get; }

    public string DataDirectory { get; }

    public ObjectStore Objects { get; } = new();

    public FaultInjector Faults { get; } = new();

    public LocalAwsCounters Counters { get; } = new();

    public IdentityStore Identities { get; }

    public Dictionary<string, (LocalAwsRoleTrust Trust, IamPolicy? Policy)> Roles { get; }

    public System.Collections.Concurrent.ConcurrentDictionary<string, Dictionary<string, string>> Tags { get; } = new(StringComparer.Ordinal);
}
