using System.Diagnostics;

namespace CurWorkflows.Deployment.Tests;

/// <summary>The compose stack's jobs in temporal/scripts, run against a real Temporal dev server (the same `temporal` CLI the admin-tools image has).</summary>
public sealed class TemporalScriptsTests
{
    private static string CreateNamespaceScript => RepositoryPaths.File("temporal", "scripts", "create-namespace.sh");

    private static string SetupPostgresScript => RepositoryPaths.File("temporal", "scripts", "setup-postgres.sh");

    [TemporalCliFact]
    public async Task Create_namespace_waits_for_the_server_then_creates_the_namespace_and_search_attributes_and_can_run_again()
    {
        var cli = RepositoryPaths.TemporalCli!;
        var address = $"127.0.0.1:{ShellScript.FreeTcpPort()}";
        var temporalOnPath = ShellScript.CommandFolder("temporal", $"exec {ShellScript.Quote(cli)} \"$@\"");
        var environment = new Dictionary<string, string>
        {
            ["TEMPORAL_ADDRESS"] = address,
            ["TEMPORAL_NAMESPACE"] = "curworkflows-compose",
            ["RETRY_DELAY_SECONDS"] = "1",
            ["MAX_ATTEMPTS"] = "90",
        };

        // The script starts before the server, as in compose when the health check passes early; it must wait.
        var firstRun = ShellScript.RunAsync(CreateNamespaceScript, environment, temporalOnPath, TimeSpan.FromMinutes(3));
        using var server = StartDevServer(cli, address);
        try
        {
            var first = await firstRun;
            Assert.True(first.ExitCode == 0, $"First run failed:\n{first.Output}\n{first.Error}");

            var second = await ShellScript.RunAsync(CreateNamespaceScript, environment, temporalOnPath, TimeSpan.FromMinutes(1));
            Assert.True(second.ExitCode == 0, $"Second run failed:\n{second.Output}\n{second.Error}");

            var attributes = await RunCliAsync(cli, "operator", "search-attribute", "list", "--namespace", "curworkflows-compose", "--address", address);
            foreach (var name in new[] { "IntegrationId", "OrganizationId" })
            {
                Assert.Contains(attributes.Split('\n'), line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [var attribute, "Keyword", ..] && attribute == name);
            }
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
            Directory.Delete(temporalOnPath, recursive: true);
        }
    }

    [TemporalCliFact]
    public async Task Create_namespace_gives_up_after_max_attempts_when_no_server_answers()
    {
        var cli = RepositoryPaths.TemporalCli!;
        var temporalOnPath = ShellScript.CommandFolder("temporal", $"exec {ShellScript.Quote(cli)} \"$@\"");
        var environment = new Dictionary<string, string>
        {
            ["TEMPORAL_ADDRESS"] = $"127.0.0.1:{ShellScript.FreeTcpPort()}",
            ["MAX_ATTEMPTS"] = "3",
            ["RETRY_DELAY_SECONDS"] = "0",
        };

        var result = await ShellScript.RunAsync(CreateNamespaceScript, environment, temporalOnPath, TimeSpan.FromMinutes(2));
        Directory.Delete(temporalOnPath, recursive: true);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("attempt 1 of 3", result.Output, StringComparison.Ordinal);
        Assert.Contains("attempt 2 of 3", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("attempt 3 of 3", result.Output, StringComparison.Ordinal);
        Assert.Contains("Gave up: Temporal server health check did not succeed after 3 attempts", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Setup_postgres_sets_up_new_databases_and_only_updates_existing_ones()
    {
        // A stand-in for temporal-sql-tool (only in the admin-tools image) that records its calls and
        // fails `create` for the database given in EXISTING_DATABASE, as the real tool does for an existing one.
        var log = Path.Combine(Directory.CreateTempSubdirectory("curworkflows-deploy-").FullName, "calls.log");
        var toolOnPath = ShellScript.CommandFolder("temporal-sql-tool", $$"""
            echo "SQL_PASSWORD=$SQL_PASSWORD $*" >> {{ShellScript.Quote(log)}}
            case " $* " in
              *" --db $EXISTING_DATABASE create "*) echo "database exists" >&2; exit 1 ;;
            esac
            """);
        var environment = new Dictionary<string, string>
        {
            ["POSTGRES_SEEDS"] = "postgresql",
            ["DB_PORT"] = "5432",
            ["POSTGRES_USER"] = "temporal",
            ["POSTGRES_PWD"] = "s3cret",
            ["EXISTING_DATABASE"] = "temporal",
        };

        var result = await ShellScript.RunAsync(SetupPostgresScript, environment, toolOnPath, TimeSpan.FromMinutes(1));
        var calls = await File.ReadAllLinesAsync(log);
        Directory.Delete(toolOnPath, recursive: true);
        Directory.Delete(Path.GetDirectoryName(log)!, recursive: true);

        Assert.True(result.ExitCode == 0, $"{result.Output}\n{result.Error}");
        const string Common = "SQL_PASSWORD=s3cret --plugin postgres12 --ep postgresql -p 5432 -u temporal";
        Assert.Equal(
        [
            $"{Common} --db temporal create",
            $"{Common} --db temporal update-schema -d /etc/temporal/schema/postgresql/v12/temporal/versioned",
            $"{Common} --db temporal_visibility create",
            $"{Common} --db temporal_visibility setup-schema -v 0.0",
            $"{Common} --db temporal_visibility update-schema -d /etc/temporal/schema/postgresql/v12/visibility/versioned",
        ],
        calls);
    }

    [Fact]
    public async Task Setup_postgres_fails_when_a_schema_update_fails()
    {
        var toolOnPath = ShellScript.CommandFolder("temporal-sql-tool", """case "$*" in *update-schema*) exit 3 ;; esac""");
        var environment = new Dictionary<string, string> { ["POSTGRES_PWD"] = "s3cret" };

        var result = await ShellScript.RunAsync(SetupPostgresScript, environment, toolOnPath, TimeSpan.FromMinutes(1));
        Directory.Delete(toolOnPath, recursive: true);

        Assert.NotEqual(0, result.ExitCode);
        Assert.DoesNotContain("Temporal schema is up to date", result.Output, StringComparison.Ordinal);
    }

    private static Process StartDevServer(string cli, string address)
    {
        var port = address.Split(':')[1];
        var start = new ProcessStartInfo(cli,
        [
            "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", port,
            "--http-port", ShellScript.FreeTcpPort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--metrics-port", ShellScript.FreeTcpPort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--log-level", "error",
        ])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task<string> RunCliAsync(string cli, params string[] arguments)
    {
        var start = new ProcessStartInfo(cli, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"temporal {string.Join(' ', arguments)} failed: {await error}");
        return await output;
    }
}
