namespace CurWorkflows.Deployment.Tests;

/// <summary>
/// The configuration keys the service reads that a deployment may set (docs/service.md and README list each), kept by
/// hand: a key set in docker-compose.yml or the Dockerfile must be one of them.
/// </summary>
internal static class ServiceConfiguration
{
    public static readonly IReadOnlySet<string> Keys = new HashSet<string>(StringComparer.Ordinal)
    {
        "ConnectionStrings:CurWorkflows",
        "Storage:Provider",
        "Storage:ApplyMigrationsOnStartup",
        "Temporal:Address",
        "Temporal:Namespace",
        "Temporal:TaskQueue",
        "Temporal:UiBaseUrl",
        "Temporal:CliPath",
        "Temporal:EmbeddedDataDirectory",
        "Temporal:MetricsPrometheusAddress",
        "Temporal:MetricsOtlpEndpoint",
        "Host:Role",
        "Api:AdminKey",
        "Aws:Region",
        "Aws:StsServiceUrl",
        "Aws:S3ServiceUrl",
        "Aws:TaggingServiceUrl",
        "Aws:S3ForcePathStyle",
        "Collection:Interval",
        "Collection:Cron",
        "Collection:SpoolDirectory",
        "Collection:MaxParallelFiles",
        "Collection:BackfillMonths",
    };

    public static readonly IReadOnlySet<string> StorageProviders = new HashSet<string>(StringComparer.Ordinal)
    {
        "Sqlite", "PostgreSql", "SqlServer",
    };

    public static readonly IReadOnlySet<string> HostRoles = new HashSet<string>(StringComparer.Ordinal) { "All", "Api", "Worker" };

    /// <summary>Settings read by ASP.NET Core and the .NET host themselves rather than by our options classes.</summary>
    private static readonly HashSet<string> HostSettings = new HashSet<string>(StringComparer.Ordinal)
    {
        "ASPNETCORE_HTTP_PORTS", "ASPNETCORE_HTTPS_PORTS", "ASPNETCORE_URLS", "ASPNETCORE_ENVIRONMENT", "DOTNET_ENVIRONMENT",
    };

    /// <summary>The AWS SDK's own variables for the platform's credentials (its default credential chain reads them).</summary>
    public static readonly IReadOnlySet<string> AwsCredentialVariables = new HashSet<string>(StringComparer.Ordinal)
    {
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    };

    /// <summary>The OpenTelemetry SDK's own variables; the service pushes its metrics, traces and logs when the endpoint is set.</summary>
    private static readonly HashSet<string> OpenTelemetrySettings = new HashSet<string>(StringComparer.Ordinal)
    {
        "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_METRIC_EXPORT_INTERVAL",
        "OTEL_BSP_SCHEDULE_DELAY", "OTEL_SERVICE_NAME", "OTEL_METRICS_EXPORTER", "OTEL_TRACES_EXPORTER", "OTEL_LOGS_EXPORTER",
    };

    /// <summary>Whether an environment variable name (`Section__Key` form) is a setting the service reads.</summary>
    public static bool IsKnownEnvironmentVariable(string name)
    {
        if (HostSettings.Contains(name) || AwsCredentialVariables.Contains(name) || OpenTelemetrySettings.Contains(name))
        {
            return true;
        }

        var key = name.Replace("__", ":", StringComparison.Ordinal);
        return Keys.Contains(key) || key.StartsWith("Logging:LogLevel:", StringComparison.Ordinal);
    }
}
