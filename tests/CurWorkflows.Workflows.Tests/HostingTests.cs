using System.Globalization;
using System.Net;
using System.Net.Sockets;
using CurWorkflows.Workflows.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Temporalio.Api.Enums.V1;
using Temporalio.Client;

namespace CurWorkflows.Workflows.Tests;

[Collection(TemporalCollection.Name)]
public sealed class HostingTests(TemporalFixture temporal)
{
    [Fact]
    public async Task Start_fails_with_the_key_named_when_the_cron_expression_is_invalid()
    {
        using var host = BuildWorkerHost(new() { ["Collection:Cron"] = "every morning" });
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("Collection:Cron", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_fails_with_the_key_named_when_the_worker_queue_timeout_is_under_a_second()
    {
        using var host = BuildWorkerHost(new() { ["Collection:WorkerQueueTimeout"] = "00:00:00.500" });
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("Collection:WorkerQueueTimeout", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Collection:SpoolRetention", "00:30:00")]
    [InlineData("Collection:SpoolSweepInterval", "-00:01:00")]
    public async Task Start_fails_with_the_key_named_when_the_spool_sweep_settings_are_invalid(string key, string value)
    {
        using var host = BuildWorkerHost(new() { [key] = value });
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_fails_with_the_key_named_when_a_tagging_region_is_not_a_region_name()
    {
        using var host = BuildWorkerHost(new() { ["Aws:TaggingRegions:0"] = "us-east-1", ["Aws:TaggingRegions:1"] = "Ireland" });
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("Aws:TaggingRegions", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_fails_when_the_address_is_not_host_and_port()
    {
        using var host = BuildWorkerHost(new() { ["Temporal:Address"] = "localhost" });
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains("Temporal:Address", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Temporal:MetricsPrometheusAddress", "metrics.example", null)]
    [InlineData("Temporal:MetricsOtlpEndpoint", null, "collector:4317")]
    [InlineData("not both", "127.0.0.1:9464", "http://collector:4317")]
    public async Task Start_fails_with_the_key_named_when_the_metrics_settings_are_invalid(string named, string? prometheus, string? otlp)
    {
        using var host = BuildWorkerHost(new() { ["Temporal:MetricsPrometheusAddress"] = prometheus, ["Temporal:MetricsOtlpEndpoint"] = otlp });
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_metrics_port_in_use_fails_the_start_with_the_key_named()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var address = $"127.0.0.1:{((IPEndPoint)taken.LocalEndpoint).Port}";
        using var host = BuildWorkerHost(new() { ["Temporal:MetricsPrometheusAddress"] = address });

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync());

        Assert.Contains($"Temporal:MetricsPrometheusAddress {address} cannot serve metrics", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Worker_host_runs_integration_workflows_started_idempotently_by_the_client()
    {
        using var host = BuildWorkerHost([]);
        await host.StartAsync();
        try
        {
            var client = host.Services.GetRequiredService<IntegrationWorkflowClient>();
            var integrationId = Guid.NewGuid().ToString("N");
            var workflowId = await client.EnsureStartedAsync(integrationId, "org-h");
            var firstRun = (await temporal.Client.GetWorkflowHandle(workflowId).DescribeAsync()).RunId;
            Assert.Equal(workflowId, await client.EnsureStartedAsync(integrationId, "org-h"));
            await client.RefreshAsync(integrationId, "org-h");
            Assert.Equal(firstRun, (await temporal.Client.GetWorkflowHandle(workflowId).DescribeAsync()).RunId);

            // The hosted worker answers the query: a new integration collects at once.
            IntegrationStatus? status = null;
            await Eventually.TrueAsync(
                async () => (status = await client.GetStatusAsync(integrationId))?.State == IntegrationState.Running, "the first run started");
            Assert.StartsWith($"cur-collection-{integrationId}-", status!.CurrentRunWorkflowId, StringComparison.Ordinal);

            Assert.True(await client.DisableAsync(integrationId));
            await Eventually.TrueAsync(
                async () => (await client.GetStatusAsync(integrationId))?.State == IntegrationState.Disabled, "the integration is disabled");
            await temporal.Client.GetWorkflowHandle(workflowId).TerminateAsync("test cleanup");
            Assert.False(await client.DisableAsync(Guid.NewGuid().ToString("N")));
            Assert.Null(await client.GetStatusAsync(Guid.NewGuid().ToString("N")));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task An_empty_address_starts_an_embedded_dev_server_with_the_search_attributes()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Temporal:Address"] = "",
            ["Temporal:CliPath"] = TestPaths.TemporalCli(),
            ["Temporal:EmbeddedPort"] = "0",
            ["Temporal:EmbeddedUiPort"] = "0",
            ["Temporal:EmbeddedDataDirectory"] = Path.Combine(Path.GetTempPath(), "curworkflows-embedded-" + Guid.NewGuid().ToString("N")),
            ["Temporal:UiBaseUrl"] = "http://localhost:8233",
        });
        builder.AddCurWorkflowsClient();
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var client = host.Services.GetRequiredService<IntegrationWorkflowClient>();
            var workflowId = await client.EnsureStartedAsync("embedded-1", "org-e");
            var temporalClient = host.Services.GetRequiredService<ITemporalClient>();
            var description = await temporalClient.GetWorkflowHandle(workflowId).DescribeAsync();
            Assert.Equal(WorkflowExecutionStatus.Running, description.Status);
            Assert.Equal("embedded-1", description.TypedSearchAttributes.Get(CurSearchAttributes.IntegrationId));
            Assert.StartsWith("127.0.0.1:", host.Services.GetRequiredService<TemporalEndpoint>().Address, StringComparison.Ordinal);
            Assert.Equal(
                new Uri("http://localhost:8233/namespaces/default/workflows/cur-integration-embedded-1/r1/history"),
                client.UiLink(workflowId, "r1"));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task A_taken_embedded_port_fails_the_start_at_once_with_what_to_do()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var options = new TemporalOptions
        {
            CliPath = TestPaths.TemporalCli(),
            EmbeddedPort = port,
            EmbeddedUiPort = 0,
            EmbeddedDataDirectory = Path.Combine(Path.GetTempPath(), "curworkflows-embedded-" + Guid.NewGuid().ToString("N")),
        };

        var error = await Assert.ThrowsAsync<EmbeddedTemporalPortInUseException>(() => EmbeddedTemporalServer.StartAsync(options, Path.GetTempPath()));
        Assert.Contains($"Temporal:EmbeddedPort {port} is already in use", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(options.EmbeddedDataDirectory), "nothing was started");

        var ui = new TemporalOptions
        {
            CliPath = options.CliPath,
            EmbeddedPort = 0,
            EmbeddedUiPort = port,
            EmbeddedDataDirectory = options.EmbeddedDataDirectory,
        };
        error = await Assert.ThrowsAsync<EmbeddedTemporalPortInUseException>(() => EmbeddedTemporalServer.StartAsync(ui, Path.GetTempPath()));
        Assert.Contains($"Temporal:EmbeddedUiPort {port} is already in use", error.Message, StringComparison.Ordinal);
    }

    [WatchdogFact]
    public async Task A_host_killed_with_sigkill_takes_its_embedded_dev_server_down_with_it()
    {
        await using var worker = await EmbeddedServerWorker.StartAsync();

        await worker.KillAndAwaitFreePortsAsync();
    }

    [WatchdogFact]
    public async Task A_host_stopped_with_sigterm_stops_its_workers_then_its_embedded_dev_server_gracefully()
    {
        await using var worker = await EmbeddedServerWorker.StartAsync();

        using (var signal = System.Diagnostics.Process.Start("kill", ["-TERM", worker.Process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await signal.WaitForExitAsync();
        }

        await worker.Process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, worker.Process.ExitCode);
        Assert.False(await DevServerWatchdog.AcceptsConnectionsAsync(worker.Port), "the dev server stopped with the host");
        var output = worker.Output;
        // The CLI prints this when it stops on a signal (the SDK's own stop is a SIGKILL, which prints nothing), and the
        // workers stopped while the server still answered them.
        Assert.Contains("Stopping server...", output, StringComparison.Ordinal);
        Assert.DoesNotContain("shutdown_worker rpc errored", output, StringComparison.Ordinal);
    }

    [WatchdogFact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task A_host_killed_with_sigkill_takes_down_a_dev_server_it_started_without_the_script()
    {
        // The script exists but may not run (execve fails with EACCES, as on a noexec mount): the CLI starts directly and
        // the watcher is attached to it after the start, as for a CLI the SDK downloaded.
        await using var worker = await EmbeddedServerWorker.StartAsync(MakeScriptUnrunnable);
        Assert.Equal(UnixFileMode.None, File.GetUnixFileMode(Path.Combine(worker.DataDirectory, DevServerWatchdog.ScriptName)) & UnixFileMode.UserExecute);
        Assert.DoesNotContain("without its watcher", worker.Output, StringComparison.Ordinal);
        var cli = RecordedCliProcessId(worker.DataDirectory);
        Assert.Contains($"--port\0{worker.Port}\0", File.ReadAllText($"/proc/{cli}/cmdline"), StringComparison.Ordinal);

        await worker.KillAndAwaitFreePortsAsync();
    }

    [WatchdogFact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task A_data_directory_where_the_watcher_script_cannot_run_still_starts_the_server_with_a_watcher()
    {
        var options = new TemporalOptions
        {
            CliPath = TestPaths.TemporalCli(),
            EmbeddedPort = 0,
            EmbeddedUiPort = 0,
            EmbeddedDataDirectory = Path.Combine(Path.GetTempPath(), "curworkflows-unwatched-" + Guid.NewGuid().ToString("N")),
        };
        Directory.CreateDirectory(options.EmbeddedDataDirectory);
        try
        {
            MakeScriptUnrunnable(options.EmbeddedDataDirectory);

            await using var server = await EmbeddedTemporalServer.StartAsync(options, Path.GetTempPath());

            var port = int.Parse(server.Address.Split(':')[1], CultureInfo.InvariantCulture);
            Assert.True(await DevServerWatchdog.AcceptsConnectionsAsync(port), "the dev server is up");
            Assert.Null(server.UnwatchedBecause);
            // The attached watcher recorded the CLI, so that the stop is graceful.
            var cli = RecordedCliProcessId(options.EmbeddedDataDirectory);
            Assert.Contains($"--port\0{port}\0", File.ReadAllText($"/proc/{cli}/cmdline"), StringComparison.Ordinal);
            await server.DisposeAsync();
            Assert.False(await DevServerWatchdog.AcceptsConnectionsAsync(port), "the dev server stopped");
        }
        finally
        {
            Directory.Delete(options.EmbeddedDataDirectory, recursive: true);
        }
    }

    /// <summary>The process id of the CLI, as recorded in the data directory for the graceful stop.</summary>
    private static int RecordedCliProcessId(string dataDirectory) =>
        int.Parse(File.ReadAllText(Path.Combine(dataDirectory, DevServerWatchdog.PidFileName)).Trim(), CultureInfo.InvariantCulture);

    /// <summary>Writes the watcher script as the host would, then takes its execute bits away.</summary>
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static void MakeScriptUnrunnable(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        var script = DevServerWatchdog.Wrap(TestPaths.TemporalCli(), dataDirectory, out var problem);
        Assert.Null(problem);
        Assert.Equal(Path.Combine(dataDirectory, DevServerWatchdog.ScriptName), script);
        File.SetUnixFileMode(script!, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        Assert.Equal(TestPaths.TemporalCli(), DevServerWatchdog.Wrap(TestPaths.TemporalCli(), dataDirectory, out problem));
        Assert.Contains("Permission denied", problem, StringComparison.Ordinal);
    }

    /// <summary>The test assembly's worker mode in a process of its own, with an embedded dev server on free ports.</summary>
    private sealed class EmbeddedServerWorker : IAsyncDisposable
    {
        private readonly System.Text.StringBuilder output = new();
        private readonly string directory;

        private EmbeddedServerWorker(System.Diagnostics.Process process, int port, int uiPort, string directory)
        {
            Process = process;
            Port = port;
            UiPort = uiPort;
            this.directory = directory;
        }

        public System.Diagnostics.Process Process { get; }

        public int Port { get; }

        public int UiPort { get; }

        public string Output
        {
            get
            {
                lock (output)
                {
                    return output.ToString();
                }
            }
        }

        public string DataDirectory => Path.Combine(directory, ".data");

        /// <summary>SIGKILLs the worker; its dev server's ports must be free within 20 s.</summary>
        public async Task KillAndAwaitFreePortsAsync()
        {
            // Not waited for with WaitForExitAsync: that waits for the end of the output, which a dev server left running
            // would hold open.
            Process.Kill();

            await Eventually.TrueAsync(
                async () => !await DevServerWatchdog.AcceptsConnectionsAsync(Port) && !await DevServerWatchdog.AcceptsConnectionsAsync(UiPort), "the dev server's ports are free", TimeSpan.FromSeconds(20));
        }

        /// <param name="prepareDataDirectory">Runs on the dev server's data directory before the worker starts.</param>
        public static async Task<EmbeddedServerWorker> StartAsync(Action<string>? prepareDataDirectory = null)
        {
            var port = EmbeddedTemporalServer.FreeLoopbackPort();
            var uiPort = EmbeddedTemporalServer.FreeLoopbackPort();
            var directory = Path.Combine(Path.GetTempPath(), "curworkflows-embedded-" + Guid.NewGuid().ToString("N"));
            prepareDataDirectory?.Invoke(Path.Combine(directory, ".data"));
            var start = WorkerProgram.StartInfo(new Dictionary<string, string?>
            {
                ["Temporal:Address"] = "",
                ["Temporal:CliPath"] = TestPaths.TemporalCli(),
                ["Temporal:EmbeddedPort"] = port.ToString(CultureInfo.InvariantCulture),
                ["Temporal:EmbeddedUiPort"] = uiPort.ToString(CultureInfo.InvariantCulture),
                ["Temporal:EmbeddedDataDirectory"] = Path.Combine(directory, ".data"),
                ["ConnectionStrings:CurWorkflows"] = $"Data Source={Path.Combine(directory, "curworkflows.db")}",
                ["Collection:SpoolDirectory"] = Path.Combine(directory, "spool"),
            });
            var worker = new EmbeddedServerWorker(System.Diagnostics.Process.Start(start)!, port, uiPort, directory);
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            void Collect(object sender, System.Diagnostics.DataReceivedEventArgs e)
            {
                lock (worker.output)
                {
                    worker.output.AppendLine(e.Data);
                }

                if (e.Data?.Contains("worker started", StringComparison.Ordinal) == true)
                {
                    started.TrySetResult();
                }
            }

            worker.Process.OutputDataReceived += Collect;
            worker.Process.ErrorDataReceived += Collect;
            worker.Process.BeginOutputReadLine();
            worker.Process.BeginErrorReadLine();
            try
            {
                await started.Task.WaitAsync(TimeSpan.FromSeconds(120));
                Assert.True(await DevServerWatchdog.AcceptsConnectionsAsync(port), "the embedded dev server is up");
            }
            catch
            {
                await worker.DisposeAsync();
                throw;
            }

            return worker;
        }

        public async ValueTask DisposeAsync()
        {
            if (!Process.HasExited)
            {
                Process.Kill();
            }

            // Whatever the outcome, no dev server of this test outlives it.
            using (var cleanup = System.Diagnostics.Process.Start("pkill", ["-f", directory]))
            {
                await cleanup.WaitForExitAsync();
            }

            Process.Dispose();
        }
    }

    private IHost BuildWorkerHost(Dictionary<string, string?> overrides)
    {
        var builder = Host.CreateApplicationBuilder();
        var settings = new Dictionary<string, string?>
        {
            ["Temporal:Address"] = temporal.Address,
            ["Temporal:TaskQueue"] = TemporalFixture.NewTaskQueue(),
            ["Collection:SpoolDirectory"] = Path.Combine(Path.GetTempPath(), "curworkflows-test-spool", Guid.NewGuid().ToString("N")),
        };
        foreach (var (key, value) in overrides)
        {
            settings[key] = value;
        }

        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddCurWorkflowsWorker();
        return builder.Build();
    }
}

/// <summary>A fact about the dev server's watcher: skipped on Windows (the CLI is started directly) and without a local
/// CLI (the SDK downloads one, and starts it itself).</summary>
public sealed class WatchdogFactAttribute : FactAttribute
{
    public WatchdogFactAttribute()
    {
        if (OperatingSystem.IsWindows())
        {
            Skip = "the dev server's watcher is a sh script";
        }
        else if (TestPaths.TemporalCli() is null)
        {
            Skip = "no local Temporal CLI (TEMPORAL_CLI_PATH or ../shared/tools/temporal)";
        }
    }
}
