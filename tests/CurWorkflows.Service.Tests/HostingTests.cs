using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Amazon.Runtime;
using CurWorkflows.Aws;
using CurWorkflows.LocalAws;
using CurWorkflows.Service.Extensions;
using CurWorkflows.Service.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

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
    public void The_service_runs_with_the_culture_data_that_the_SQL_Server_client_needs()
    {
        // Microsoft.Data.SqlClient throws at its first connection in globalization-invariant mode, which
        // Directory.Build.props sets for every project; the service turns it off in its own project.
        using var runtimeConfig = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "CurWorkflows.Service.runtimeconfig.json")));
        var properties = runtimeConfig.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");

        Assert.False(properties.GetProperty("System.Globalization.Invariant").GetBoolean());
    }

    [Fact]
    public async Task An_HTTP_address_in_use_stops_the_service_with_a_message_naming_it_and_the_way_out()
    {
        using var occupant = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        occupant.Start();
        var port = ((IPEndPoint)occupant.LocalEndpoint).Port;

        var (exitCode, message) = await RunServiceProcessAsync("address-in-use", "--urls", $"http://127.0.0.1:{port}");

        Assert.Equal(1, exitCode);
        Assert.Contains($"127.0.0.1:{port}", message, StringComparison.Ordinal);
        Assert.Contains("--urls", message, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string, int, string> FailedStarts() => new()
    {
        // Refused configuration: exit code 2, the setting named.
        { "unknown-provider", "--Storage:Provider=Oracle", 2, "'Storage:Provider'" },
        { "bad-parallelism", "--Collection:MaxParallelFiles=-1", 2, "MaxParallelFiles" },
        { "bad-cron", "--Collection:Cron=61 * * * *", 2, "Collection:Cron '61 * * * *'" },
        { "bad-ui-url", "--Temporal:UiBaseUrl=not a url", 2, "Temporal:UiBaseUrl must be an http(s) URL" },
        // Servers that cannot be reached: exit code 1 (before, an abort with a stack trace, or 0 for Temporal).
        { "spool-unusable", "--Collection:SpoolDirectory=/proc/curworkflows-spool", 2, "Collection:SpoolDirectory /proc/curworkflows-spool" },
        { "database-directory", "--ConnectionStrings:CurWorkflows=Data Source=/proc/no-such-dir/curworkflows.db", 2, "ConnectionStrings:CurWorkflows" },
        { "database-unreachable", "--ConnectionStrings:CurWorkflows=Data Source=/proc/curworkflows.db", 1, "ConnectionStrings:CurWorkflows" },
        { "temporal-unreachable", "--Temporal:Address=127.0.0.1:{free-port}", 1, "Temporal:Address" },
    };

    [Theory]
    [MemberData(nameof(FailedStarts))]
    public async Task A_start_that_cannot_succeed_ends_with_a_non_zero_exit_code_and_one_line_naming_what_to_fix(
        string purpose, string argument, int expectedExitCode, string expectedInMessage)
    {
        argument = argument.Replace("{free-port}", CurWorkflows.Workflows.Hosting.EmbeddedTemporalServer.FreeLoopbackPort().ToString(
            System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);

        var (exitCode, message) = await RunServiceProcessAsync(purpose, argument);

        Assert.True(exitCode == expectedExitCode, $"exit code {exitCode}, standard error: {message}");
        var lastLine = message.TrimEnd().Split('\n')[^1];
        Assert.Contains(expectedInMessage, lastLine, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", message, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_service_whose_embedded_Temporal_server_was_killed_stops_with_exit_code_1_saying_so()
    {
        var httpPort = CurWorkflows.Workflows.Hosting.EmbeddedTemporalServer.FreeLoopbackPort();
        var service = StartServiceProcess("temporal-killed", out var contentRoot, "--urls", $"http://127.0.0.1:{httpPort}");
        using var process = service.Process;
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddMinutes(1);
        while (true)
        {
            if (process.HasExited)
            {
                Assert.Fail("the service ended before it was ready: " + await service.StandardError);
            }

            Assert.True(DateTime.UtcNow < deadline, "the service was not ready within a minute");
            try
            {
                using var ready = await http.GetAsync(new Uri("/health/ready", UriKind.Relative));
                if (ready.IsSuccessStatusCode)
                {
                    break;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }

            await Task.Delay(250);
        }

        var serverPid = int.Parse(File.ReadAllText(Path.Combine(contentRoot, ".data", "temporal-cli.pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        System.Diagnostics.Process.GetProcessById(serverPid).Kill();

        await service.WaitForExitAsync(TimeSpan.FromSeconds(60));

        var error = await service.StandardError;
        Assert.True(process.ExitCode == 1, $"exit code {process.ExitCode}, standard error: {error}");
        Assert.Contains("The embedded Temporal dev server", error.TrimEnd().Split('\n')[^1], StringComparison.Ordinal);
    }

    private sealed record ServiceProcess(System.Diagnostics.Process Process, Task<string> StandardOutput, Task<string> StandardError)
    {
        /// <summary>Waits for the process to end; past <paramref name="limit"/> it is killed and the wait throws.</summary>
        public async Task WaitForExitAsync(TimeSpan limit)
        {
            using var timeout = new CancellationTokenSource(limit);
            try
            {
                await Process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                Process.Kill(entireProcessTree: true);
                throw;
            }
        }
    }

    /// <summary>The service as its own process (embedded Temporal on free ports, SQLite in a new directory), with
    /// <paramref name="arguments"/> last; its exit code and standard error once it has ended (within two minutes).</summary>
    private static async Task<(int ExitCode, string StandardError)> RunServiceProcessAsync(string purpose, params string[] arguments)
    {
        var service = StartServiceProcess(purpose, out _, arguments);
        using var process = service.Process;
        await service.WaitForExitAsync(TimeSpan.FromMinutes(2));

        _ = await service.StandardOutput;
        return (process.ExitCode, await service.StandardError);
    }

    private static ServiceProcess StartServiceProcess(string purpose, out string contentRoot, params string[] arguments)
    {
        contentRoot = TestEnvironment.NewTempDirectory(purpose);
        var start = new System.Diagnostics.ProcessStartInfo("dotnet")
        {
            WorkingDirectory = contentRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[]
        {
            Path.Combine(AppContext.BaseDirectory, "CurWorkflows.Service.dll"), "--urls", "http://127.0.0.1:0",
            "--Temporal:EmbeddedPort=0", "--Temporal:EmbeddedUiPort=0", $"--Temporal:CliPath={TestEnvironment.TemporalCliPath}",
            $"--Temporal:EmbeddedDataDirectory={Path.Combine(contentRoot, ".data")}",
            $"--ConnectionStrings:CurWorkflows=Data Source={Path.Combine(contentRoot, "curworkflows.db")}",
        }.Concat(arguments))
        {
            start.ArgumentList.Add(argument);
        }

        var process = System.Diagnostics.Process.Start(start)!;
        return new ServiceProcess(process, process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
    }

    [Fact]
    public async Task The_demo_stores_its_month_to_the_generators_exact_total_and_later_starts_leave_one_unrevoked_demo_key()
    {
        var contentRoot = TestEnvironment.NewTempDirectory("demo");
        var settings = new Dictionary<string, string?>
        {
            ["Demo:Enabled"] = "true",
            ["Temporal:EmbeddedPort"] = "0",
            ["Temporal:EmbeddedUiPort"] = "0",
            ["Temporal:CliPath"] = TestEnvironment.TemporalCliPath,
            ["ConnectionStrings:CurWorkflows"] = $"Data Source={Path.Combine(contentRoot, "curworkflows.db")}",
        };
        for (var start = 1; start <= 3; start++)
        {
            await using var host = await ServiceTestHost.StartAsync(settings, contentRoot);
            var organizationId = host.GetRequiredService<StartupNotes>().DefaultOrganizationId!.Value;
            var runs = host.GetRequiredService<CurWorkflows.Storage.Stores.CollectionRunStore>();
            Guid? integrationId = null;
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (true)
            {
                var integrations = await host.GetRequiredService<CurWorkflows.Storage.Stores.IntegrationStore>().ListAsync(organizationId);
                integrationId = integrations.SingleOrDefault()?.Id;
                if (integrationId is { } id && (await runs.ListAsync(organizationId, id, 5)).Count(r => r.Outcome == CurWorkflows.Storage.Entities.CollectionRunOutcome.Succeeded) >= start)
                {
                    break;
                }

                Assert.True(DateTime.UtcNow < deadline, $"start {start}: no succeeded demo run within two minutes");
                await Task.Delay(200);
            }

            var period = Assert.Single(await runs.ListBillingPeriodsAsync(organizationId, integrationId!.Value));
            Assert.Equal(host.Startup.Demo!.Delivery.Truth.Unblended, period.Totals.Unblended);
            var demoKeys = (await host.GetRequiredService<CurWorkflows.Storage.Stores.OrganizationStore>().ListApiKeysAsync(organizationId))
                .Where(k => k.Name == "demo").ToList();
            Assert.Equal(start - 1, demoKeys.Count);
            Assert.True(demoKeys.Count(k => k.RevokedAt is null) <= 1);
        }
    }

    [Fact]
    public async Task A_short_admin_key_stops_the_start_naming_the_setting()
    {
        var contentRoot = TestEnvironment.NewTempDirectory("short-admin-key");
        var settings = new Dictionary<string, string?>(TestEnvironment.ApiWithUnreachableTemporal(contentRoot)) { ["Api:AdminKey"] = "admin" };

        var error = await Assert.ThrowsAnyAsync<Exception>(async () => await (await ServiceTestHost.StartAsync(settings, contentRoot)).DisposeAsync());

        Assert.Contains("Api:AdminKey must be empty", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readiness_reports_unhealthy_when_the_external_Temporal_is_not_reachable()
    {
        var contentRoot = TestEnvironment.NewTempDirectory("unreachable");
        await using var host = await ServiceTestHost.StartAsync(TestEnvironment.ApiWithUnreachableTemporal(contentRoot), contentRoot);
        using var client = host.CreateClient();

        using var live = await client.GetAsync(new Uri("/health/live", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);

        using var ready = await client.GetAsync(new Uri("/health/ready", UriKind.Relative));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        var body = await ready.Content.ReadAsStringAsync();
        Assert.Contains("\"temporal\":{\"status\":\"Unhealthy\"", body, StringComparison.Ordinal);
        Assert.Contains("\"database\":{\"status\":\"Healthy\"", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_its_own_AWS_credentials_refused_the_service_says_so_at_start_and_answers_enable_with_503_not_access_denied()
    {
        const string wrongSecret = "rotated-away-platform-secret";
        await using var service = await ApiWithLocalAwsAsync("platform-credentials", platformSecretUsed: wrongSecret);
        var host = service.Host;

        await host.GetRequiredService<PlatformIdentityCheck>().Completion.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Contains("The platform's own AWS credentials do not work", host.Logs.All, StringComparison.Ordinal);

        // Readiness says so too, as Degraded (still 200: the API answers cost queries, and a restart would not help).
        using (var probe = host.CreateClient())
        using (var ready = await probe.GetAsync(new Uri("/health/ready", UriKind.Relative)))
        {
            var awsCheck = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement.GetProperty("checks").GetProperty("aws");
            Assert.Equal("Degraded", awsCheck.GetProperty("status").GetString());
            Assert.DoesNotContain(wrongSecret, awsCheck.GetRawText(), StringComparison.Ordinal);
        }

        using var client = await service.NewOrganizationClientAsync();
        var enable = await Http.PostAsync(client, "/api/v1/integrations", ApiWithLocalAws.EnableBody);

        Assert.True(enable.Status == HttpStatusCode.ServiceUnavailable, enable.ToString());
        Assert.Equal("transient", enable.Json.GetProperty("error").GetString());
        Assert.Contains("own AWS credentials", enable.Json.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(wrongSecret, host.Logs.All, StringComparison.Ordinal);
        Assert.DoesNotContain(wrongSecret, enable.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_Temporal_unreachable_enable_and_refresh_answer_503_transient_and_the_enable_is_kept()
    {
        await using var service = await ApiWithLocalAwsAsync("temporal-down");
        using var client = await service.NewOrganizationClientAsync();

        var enable = await Http.PostAsync(client, "/api/v1/integrations", ApiWithLocalAws.EnableBody);

        Assert.True(enable.Status == HttpStatusCode.ServiceUnavailable, enable.ToString());
        Assert.Equal("transient", enable.Json.GetProperty("error").GetString());
        Assert.Contains("Temporal", enable.Json.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var list = await Http.GetAsync(client, "/api/v1/integrations");
        var integration = Assert.Single(list.Json.GetProperty("integrations").EnumerateArray());
        var refresh = await Http.PostAsync(client, $"/api/v1/integrations/{integration.GetProperty("id").GetGuid()}/refresh", null);
        Assert.True(refresh.Status == HttpStatusCode.ServiceUnavailable, refresh.ToString());
        Assert.Equal("transient", refresh.Json.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Against_a_Temporal_namespace_without_the_search_attributes_enable_says_what_to_register_and_readiness_fails()
    {
        // A dev server as an operator might start one: no IntegrationId or OrganizationId search attribute.
        await using var temporal = await Temporalio.Testing.WorkflowEnvironment.StartLocalAsync(new()
        {
            DevServerOptions = new() { ExistingPath = TestEnvironment.TemporalCliPath },
        });
        await using var service = await ApiWithLocalAwsAsync("no-search-attributes", temporalAddress: temporal.Client.Connection.Options.TargetHost);
        using var client = await service.NewOrganizationClientAsync();

        var enable = await Http.PostAsync(client, "/api/v1/integrations", ApiWithLocalAws.EnableBody);

        Assert.True(enable.Status == HttpStatusCode.ServiceUnavailable, enable.ToString());
        Assert.Equal("transient", enable.Json.GetProperty("error").GetString());
        var detail = enable.Json.GetProperty("detail").GetString();
        Assert.Contains("temporal operator search-attribute create --namespace default --name IntegrationId --type Keyword", detail, StringComparison.Ordinal);
        Assert.Contains("--name OrganizationId", detail, StringComparison.Ordinal);

        using var probe = service.Host.CreateClient();
        using var ready = await probe.GetAsync(new Uri("/health/ready", UriKind.Relative));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        var temporalCheck = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement.GetProperty("checks").GetProperty("temporal");
        Assert.Equal("Unhealthy", temporalCheck.GetProperty("status").GetString());
        Assert.Contains("IntegrationId", temporalCheck.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_the_database_not_answering_the_API_answers_503_transient_not_500()
    {
        const string adminKey = "admin-key-database-down-0001";
        var contentRoot = TestEnvironment.NewTempDirectory("database-down");
        var closedPort = CurWorkflows.Workflows.Hosting.EmbeddedTemporalServer.FreeLoopbackPort();
        await using var host = await ServiceTestHost.StartAsync(
            new Dictionary<string, string?>(TestEnvironment.ApiWithUnreachableTemporal(contentRoot))
            {
                ["Storage:Provider"] = "PostgreSql",
                ["ConnectionStrings:CurWorkflows"] = $"Host=127.0.0.1;Port={closedPort};Username=postgres;Password=postgres;Database=postgres;Timeout=3",
                ["Storage:ApplyMigrationsOnStartup"] = "false",
                ["Api:AdminKey"] = adminKey,
                ["Api:CreateBootstrapKey"] = "false",
            },
            contentRoot);

        // Through the admin API (the store's own read) and through an organization's key (the authentication's read).
        using var admin = host.CreateClient(adminKey);
        var created = await Http.PostAsync(admin, "/api/v1/admin/organizations", new Dictionary<string, object?> { ["name"] = "org" });
        using var organization = host.CreateClient("cwk_0123456789ab_a-well-formed-key-no-store-has");
        var listed = await Http.GetAsync(organization, "/api/v1/integrations");

        foreach (var answer in new[] { created, listed })
        {
            Assert.True(answer.Status == HttpStatusCode.ServiceUnavailable, answer.ToString());
            Assert.Equal("transient", answer.Json.GetProperty("error").GetString());
            Assert.Contains("database", answer.Json.GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.DoesNotContain("postgres", answer.Body, StringComparison.OrdinalIgnoreCase);
        }
    }

    /// <summary>The API (Temporal unreachable) against a local AWS endpoint with one customer role and bucket; the platform
    /// signs with <paramref name="platformSecretUsed"/> (the endpoint knows <c>the-platform-secret-now</c>).</summary>
    private static async Task<ApiWithLocalAws> ApiWithLocalAwsAsync(
        string purpose, string platformSecretUsed = ApiWithLocalAws.PlatformSecret, string? temporalAddress = null)
    {
        var aws = await LocalAwsServer.StartAsync(new LocalAwsOptions
        {
            PlatformKeys = [new LocalAwsAccessKey { AccessKeyId = ApiWithLocalAws.PlatformKey, SecretAccessKey = ApiWithLocalAws.PlatformSecret }],
            Roles = [new LocalAwsRoleTrust { RoleArn = ApiWithLocalAws.RoleArn, ExternalId = ApiWithLocalAws.ExternalId }],
            Buckets = [ApiWithLocalAws.Bucket],
        });
        try
        {
            var contentRoot = TestEnvironment.NewTempDirectory(purpose);
            var host = await ServiceTestHost.StartAsync(
                new Dictionary<string, string?>(TestEnvironment.ApiWithUnreachableTemporal(contentRoot))
                {
                    ["Api:AdminKey"] = ApiWithLocalAws.AdminKey,
                    ["Api:CreateBootstrapKey"] = "false",
                    ["Aws:StsServiceUrl"] = aws.Url.ToString(),
                    ["Aws:S3ServiceUrl"] = aws.Url.ToString(),
                    ["Aws:TaggingServiceUrl"] = aws.Url.ToString(),
                    ["Aws:S3ForcePathStyle"] = "true",
                    ["Temporal:Address"] = temporalAddress ?? TestEnvironment.ApiWithUnreachableTemporal(contentRoot)["Temporal:Address"],
                },
                contentRoot,
                builder => builder.Services.AddSingleton(new AwsPlatformCredentials(new BasicAWSCredentials(ApiWithLocalAws.PlatformKey, platformSecretUsed))));
            return new ApiWithLocalAws(aws, host);
        }
        catch
        {
            await aws.DisposeAsync();
            throw;
        }
    }

    private sealed class ApiWithLocalAws(LocalAwsServer aws, ServiceTestHost host) : IAsyncDisposable
    {
        public const string RoleArn = "arn:aws:iam::123456789012:role/massdriver-cur-reader";
        public const string ExternalId = "ext-local-aws-0001";
        public const string Bucket = "massdriver-costs-local";
        public const string PlatformKey = "AKIAPLATFORMCHECK001";
        public const string PlatformSecret = "the-platform-secret-now";
        public const string AdminKey = "admin-key-local-aws-0001";

        public ServiceTestHost Host => host;

        public static Dictionary<string, object?> EnableBody => new() { ["iam_role_arn"] = RoleArn, ["external_id"] = ExternalId, ["bucket_name"] = Bucket };

        /// <summary>A client with the API key of a new organization (through the admin API).</summary>
        public async Task<HttpClient> NewOrganizationClientAsync()
        {
            using var admin = host.CreateClient(AdminKey);
            using var created = await admin.PostAsJsonAsync(new Uri("/api/v1/admin/organizations", UriKind.Relative), new { name = "org" });
            var organization = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetGuid();
            using var key = await admin.PostAsJsonAsync(new Uri($"/api/v1/admin/organizations/{organization}/api-keys", UriKind.Relative), new { name = "tests" });
            return host.CreateClient(JsonDocument.Parse(await key.Content.ReadAsStringAsync()).RootElement.GetProperty("api_key").GetString());
        }

        public async ValueTask DisposeAsync()
        {
            await host.DisposeAsync();
            await aws.DisposeAsync();
        }
    }

    [Theory]
    [InlineData(null, null, null, null)]
    [InlineData("http://collector:4317", null, null, "metrics, traces, logs over OTLP (grpc) to http://collector:4317")]
    [InlineData("https://user:s3cret@otlp.example.com/otlp?token=abc", "http/protobuf", "OTEL_LOGS_EXPORTER", "metrics, traces over OTLP (http/protobuf) to https://otlp.example.com")]
    [InlineData("http://collector:4318", "http/protobuf", "OTEL_TRACES_EXPORTER", "metrics, logs over OTLP (http/protobuf) to http://collector:4318")]
    public void The_start_up_banner_names_the_signals_and_the_collector_without_credentials(string? endpoint, string? protocol, string? off, string? expected)
    {
        var settings = new Dictionary<string, string?> { [ServiceTelemetry.OtlpEndpointKey] = endpoint, ["OTEL_EXPORTER_OTLP_PROTOCOL"] = protocol };
        if (off is not null)
        {
            settings[off] = "none";
        }

        Assert.Equal(expected, ServiceTelemetry.Describe(new ConfigurationBuilder().AddInMemoryCollection(settings).Build()));
    }
}
