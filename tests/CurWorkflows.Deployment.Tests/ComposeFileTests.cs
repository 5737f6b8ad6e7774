using System.Data.Common;
using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace CurWorkflows.Deployment.Tests;

public sealed partial class ComposeFileTests
{
    private static readonly ComposeFile Compose = ComposeFile.Load(RepositoryPaths.File("docker-compose.yml"));

    /// <summary>Image tags that deploy-notes.md names as the documented tag although they move.</summary>
    private static readonly HashSet<string> DocumentedMovingTags = new HashSet<string>(StringComparer.Ordinal)
    {
        "mcr.microsoft.com/mssql/server:2022-latest",
    };

    [Fact]
    public void The_worker_keeps_its_host_queue_and_spool_when_its_container_is_recreated()
    {
        // The worker's own task queue is named after the host name and the spool directory; a container's default host
        // name is its id, which a recreated container does not keep.
        var worker = Compose["worker"];
        var spool = worker.Environment["Collection__SpoolDirectory"];

        Assert.False(string.IsNullOrEmpty(worker.Hostname));
        Assert.Contains(worker.Volumes, volume => volume.Split(':') is [var source, var target, ..] && target == spool && !source.StartsWith('.') && !source.StartsWith('/'));
    }

    [Fact]
    public void The_stack_has_the_services_the_deployment_needs()
    {
        string[] expected =
        [
            "postgresql", "temporal-admin-tools", "temporal", "temporal-create-namespace", "temporal-ui", "sqlserver", "api", "worker",
        ];

        Assert.Empty(expected.Except(Compose.Services.Keys));
    }

    [Fact]
    public void Every_depends_on_target_is_a_service_and_its_condition_is_one_it_can_meet()
    {
        foreach (var service in Compose.Services.Values)
        {
            foreach (var (target, condition) in service.DependsOn)
            {
                Assert.True(Compose.Services.ContainsKey(target), $"{service.Name} depends on missing service '{target}'.");
                var dependency = Compose[target];
                switch (condition)
                {
                    case "service_healthy":
                        Assert.True(dependency.HealthcheckTest is not null, $"{service.Name} waits for {target} to be healthy, but {target} has no health check.");
                        break;
                    case "service_completed_successfully":
                        // A job that is restarted unconditionally never "completes".
                        Assert.True(dependency.Restart is null or "no" || dependency.Restart.StartsWith("on-failure", StringComparison.Ordinal),
                            $"{service.Name} waits for {target} to complete, but {target} has restart policy '{dependency.Restart}'.");
                        Assert.Null(dependency.HealthcheckTest);
                        break;
                    case "service_started":
                        break;
                    default:
                        Assert.Fail($"{service.Name}: unknown depends_on condition '{condition}' for {target}.");
                        break;
                }
            }
        }
    }

    [Fact]
    public void Every_host_named_in_a_service_environment_is_a_service_listening_on_that_port()
    {
        var references = Compose.Services.Values.SelectMany(NetworkReferences).ToList();

        // The app's Temporal and database addresses, the UI's and the jobs' Temporal address, Temporal's database.
        Assert.Contains(references, reference => reference.From == "api" && reference.Host == "temporal");
        Assert.Contains(references, reference => reference.From == "worker" && reference.Host == "sqlserver");
        Assert.Contains(references, reference => reference.From == "temporal-ui" && reference.Host == "temporal");
        Assert.Contains(references, reference => reference.From == "temporal" && reference.Host == "postgresql");
        foreach (var (from, variable, host, port) in references)
        {
            Assert.True(Compose.Services.ContainsKey(host), $"{from}: {variable} names host '{host}', which is not a service.");
            Assert.True(Compose[host].ContainerPorts.Contains(port),
                $"{from}: {variable} uses {host}:{port}, but {host} declares ports [{string.Join(", ", Compose[host].ContainerPorts)}].");
        }
    }

    [Fact]
    public void Temporal_ui_connects_to_the_port_temporal_serves_and_checks()
    {
        var temporal = Compose["temporal"];
        var (host, port) = HostAndPort(Compose["temporal-ui"].Environment["TEMPORAL_ADDRESS"]);

        Assert.Equal("temporal", host);
        Assert.Contains(port, temporal.ContainerPorts);
        Assert.Equal($"nc -z localhost {port}", temporal.HealthcheckTest);
        Assert.Equal(Compose["temporal-ui"].Environment["TEMPORAL_UI_PORT"], Compose["temporal-ui"].Ports.Single().ContainerPort.ToString(CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Api_publishes_the_port_kestrel_listens_on_and_probes_it()
    {
        var api = Compose["api"];
        var httpPort = int.Parse(api.Environment["ASPNETCORE_HTTP_PORTS"], CultureInfo.InvariantCulture);
        var exposed = Dockerfile.Load(RepositoryPaths.File("Dockerfile")).Named("EXPOSE").Select(instruction => int.Parse(instruction.Operands[0], CultureInfo.InvariantCulture));

        Assert.Equal(8080, httpPort);
        Assert.Contains(api.Ports, port => port.ContainerPort == httpPort && port.HostPort is not null);
        Assert.Contains(httpPort, exposed);
        Assert.Contains($"/dev/tcp/127.0.0.1/{httpPort}", api.HealthcheckTest, StringComparison.Ordinal);
        Assert.Contains("GET /health/ready ", api.HealthcheckTest, StringComparison.Ordinal);
        // The aspnet runtime image has neither curl nor wget.
        Assert.DoesNotContain("curl", api.HealthcheckTest, StringComparison.Ordinal);
        Assert.DoesNotContain("wget", api.HealthcheckTest, StringComparison.Ordinal);
    }

    [Fact]
    public void Temporal_ui_link_base_points_at_the_published_temporal_ui_port()
    {
        var uiBase = new Uri(Compose["api"].Environment["Temporal__UiBaseUrl"]);
        var temporalUi = Compose["temporal-ui"];

        Assert.Equal("localhost", uiBase.Host);
        Assert.Contains(temporalUi.Ports, port => port.HostPort == uiBase.Port);
        Assert.Equal(uiBase, new Uri(Compose["worker"].Environment["Temporal__UiBaseUrl"]));
        Assert.Equal(uiBase, new Uri(temporalUi.Environment["TEMPORAL_CORS_ORIGINS"]));
    }

    [Fact]
    public void Published_host_ports_are_unique()
    {
        var hostPorts = Compose.Services.Values.SelectMany(service => service.Ports).Where(port => port.HostPort is not null).Select(port => port.HostPort!.Value).ToList();

        Assert.NotEmpty(hostPorts);
        Assert.Equal(hostPorts.Count, hostPorts.Distinct().Count());
    }

    [Fact]
    public void Every_image_tag_is_pinned()
    {
        var images = Compose.Services.Values.Where(service => service.Image is not null).Select(service => service.Image!).ToList();
        images.AddRange(Dockerfile.Load(RepositoryPaths.File("Dockerfile")).Named("FROM").Select(from => from.Operands[0]));

        Assert.NotEmpty(images);
        foreach (var image in images)
        {
            var lastSlash = image.LastIndexOf('/');
            var colon = image.LastIndexOf(':');
            Assert.True(colon > lastSlash, $"Image '{image}' has no tag.");
            var tag = image[(colon + 1)..];
            var moving = tag == "latest" || tag.EndsWith("-latest", StringComparison.Ordinal) || !tag.Any(char.IsDigit);
            Assert.False(moving && !DocumentedMovingTags.Contains(image) && !IsLocalBuild(image), $"Image '{image}' is not pinned to a version.");
        }
    }

    [Fact]
    public void Api_and_worker_run_one_image_built_from_the_dockerfile_in_their_roles()
    {
        var api = Compose["api"];
        var worker = Compose["worker"];

        Assert.True(api.IsBuilt && worker.IsBuilt);
        Assert.Equal("Dockerfile", api.BuildDockerfile);
        Assert.True(File.Exists(RepositoryPaths.File(api.BuildDockerfile!)));
        Assert.Equal(api.Image, worker.Image);
        Assert.Equal("Api", api.Environment["Host__Role"]);
        Assert.Equal("Worker", worker.Environment["Host__Role"]);
        // Exactly one of them migrates the database, so the two never race.
        Assert.Equal(["false", "true"], new[] { api, worker }.Select(service => service.Environment["Storage__ApplyMigrationsOnStartup"]).Order());
        Assert.Equal("service_healthy", worker.DependsOn.GetValueOrDefault(
            api.Environment["Storage__ApplyMigrationsOnStartup"] == "true" ? "api" : "worker"));
    }

    [Theory]
    [InlineData("api")]
    [InlineData("worker")]
    public void Service_environment_uses_only_the_services_configuration_keys_and_values(string name)
    {
        var environment = Compose[name].Environment;

        var unknown = environment.Keys.Where(key => !ServiceConfiguration.IsKnownEnvironmentVariable(key)).ToList();
        Assert.True(unknown.Count == 0, $"{name} sets settings the service does not read: {string.Join(", ", unknown)}");
        Assert.Contains(environment["Host__Role"], ServiceConfiguration.HostRoles);
        Assert.Equal("SqlServer", environment["Storage__Provider"]);
        Assert.Contains(environment["Storage__Provider"], ServiceConfiguration.StorageProviders);
        Assert.Equal("temporal:7233", environment["Temporal__Address"]);
        Assert.True(bool.TryParse(environment["Storage__ApplyMigrationsOnStartup"], out _));

        var connection = new DbConnectionStringBuilder { ConnectionString = environment["ConnectionStrings__CurWorkflows"] };
        Assert.Equal("sqlserver,1433", connection["Server"]);
        Assert.Equal(Compose["sqlserver"].Environment["MSSQL_SA_PASSWORD"], connection["Password"]);
    }

    [Theory]
    [InlineData("api")]
    [InlineData("worker")]
    public void The_platforms_AWS_credentials_come_from_the_shell_and_are_never_written_in_the_file(string name)
    {
        var environment = Compose[name].Environment;

        // Unset in the shell, each resolves to nothing: no key, secret or token is part of the file.
        Assert.All(ServiceConfiguration.AwsCredentialVariables, variable => Assert.Equal("", environment[variable]));
        var text = File.ReadAllText(RepositoryPaths.File("docker-compose.yml"));
        Assert.All(ServiceConfiguration.AwsCredentialVariables, variable => Assert.Contains($"{variable}: ${{{variable}:-}}", text, StringComparison.Ordinal));
    }

    [Fact]
    public void Sql_server_password_meets_the_complexity_rule_and_the_health_check_uses_it()
    {
        var sqlServer = Compose["sqlserver"];
        var password = sqlServer.Environment["MSSQL_SA_PASSWORD"];
        var classes = new[] { password.Any(char.IsUpper), password.Any(char.IsLower), password.Any(char.IsDigit), password.Any(c => !char.IsLetterOrDigit(c)) };

        Assert.True(password.Length >= 8 && classes.Count(present => present) >= 3, "MSSQL_SA_PASSWORD needs 8+ characters of 3 of the 4 classes.");
        Assert.Equal("Y", sqlServer.Environment["ACCEPT_EULA"]);
        Assert.Contains("/opt/mssql-tools18/bin/sqlcmd", sqlServer.HealthcheckTest, StringComparison.Ordinal);
        Assert.Contains("-P \"$MSSQL_SA_PASSWORD\"", sqlServer.HealthcheckTest, StringComparison.Ordinal);
        Assert.Contains(1433, sqlServer.ContainerPorts);
    }

    [Fact]
    public void Temporal_and_its_jobs_share_database_settings_and_the_job_runs_after_postgres_is_healthy()
    {
        var temporal = Compose["temporal"];
        var schemaJob = Compose["temporal-admin-tools"];
        var postgres = Compose["postgresql"];

        Assert.Equal("postgres12", temporal.Environment["DB"]);
        foreach (var key in new[] { "POSTGRES_SEEDS", "DB_PORT", "POSTGRES_USER", "POSTGRES_PWD" })
        {
            Assert.Equal(temporal.Environment[key], schemaJob.Environment[key]);
        }

        Assert.Equal(postgres.Environment["POSTGRES_USER"], temporal.Environment["POSTGRES_USER"]);
        Assert.Equal(postgres.Environment["POSTGRES_PASSWORD"], temporal.Environment["POSTGRES_PWD"]);
        Assert.Equal("service_healthy", schemaJob.DependsOn["postgresql"]);
        Assert.Equal("service_completed_successfully", temporal.DependsOn["temporal-admin-tools"]);
        Assert.StartsWith("pg_isready", postgres.HealthcheckTest, StringComparison.Ordinal);
        Assert.Equal("0.0.0.0", temporal.Environment["BIND_ON_IP"]);
    }

    [Fact]
    public void Bind_mounts_exist_in_the_repository_and_named_volumes_are_declared()
    {
        var mounts = Compose.Services.Values.SelectMany(service => service.Volumes.Select(volume => (service.Name, Volume: volume))).ToList();

        Assert.NotEmpty(mounts);
        foreach (var (service, volume) in mounts)
        {
            var source = volume.Split(':')[0];
            if (source.StartsWith('.') || source.StartsWith('/'))
            {
                Assert.True(Directory.Exists(RepositoryPaths.File(source)) || File.Exists(RepositoryPaths.File(source)), $"{service}: bind mount source '{source}' does not exist.");
            }
            else
            {
                Assert.True(Compose.NamedVolumes.Contains(source), $"{service}: volume '{source}' is not declared under top-level volumes.");
            }
        }

        // Data survives `docker compose down`: both databases keep their files in named volumes.
        Assert.Contains(Compose["postgresql"].Volumes, volume => volume.EndsWith(":/var/lib/postgresql/data", StringComparison.Ordinal));
        Assert.Contains(Compose["sqlserver"].Volumes, volume => volume.EndsWith(":/var/opt/mssql", StringComparison.Ordinal));
    }

    [Fact]
    public void Job_scripts_run_from_the_mounted_temporal_folder_exist()
    {
        var jobs = Compose.Services.Values.Where(service => service.Command.Any(word => word.EndsWith(".sh", StringComparison.Ordinal))).ToList();

        Assert.Equal(2, jobs.Count);
        foreach (var job in jobs)
        {
            var script = job.Command.Single(word => word.EndsWith(".sh", StringComparison.Ordinal));
            Assert.True(File.Exists(HostPathOf(job, script)), $"{job.Name}: {script} is not in the mounted folder.");
        }
    }

    [Fact]
    public void Temporal_dynamic_config_file_is_mounted_and_sets_the_documented_keys()
    {
        var temporal = Compose["temporal"];
        // The server resolves DYNAMIC_CONFIG_FILE_PATH relative to its working directory, /etc/temporal.
        var inContainer = "/etc/temporal/" + temporal.Environment["DYNAMIC_CONFIG_FILE_PATH"];
        var onHost = HostPathOf(temporal, inContainer);

        Assert.True(File.Exists(onHost), $"{inContainer} maps to {onHost}, which does not exist.");
        var yaml = new YamlStream();
        using (var reader = new StreamReader(onHost))
        {
            yaml.Load(reader);
        }

        var root = (YamlMappingNode)yaml.Documents.Single().RootNode;
        var keys = root.Children.Keys.Cast<YamlScalarNode>().Select(key => key.Value).ToList();
        Assert.Equal(["limit.maxIDLength", "system.forceSearchAttributesCacheRefreshOnRead"], keys.Order());
        foreach (var (_, value) in root.Children)
        {
            var entry = (YamlMappingNode)((YamlSequenceNode)value).Children.Single();
            Assert.True(entry.Children.ContainsKey("value") && entry.Children.ContainsKey("constraints"));
        }

        Assert.Equal("255", ((YamlScalarNode)((YamlMappingNode)((YamlSequenceNode)root["limit.maxIDLength"]).Children[0])["value"]).Value);
    }

    [Fact]
    public void Namespace_job_targets_the_namespace_the_service_uses()
    {
        var job = Compose["temporal-create-namespace"];

        Assert.Equal(Compose["api"].Environment["Temporal__Namespace"], job.Environment["TEMPORAL_NAMESPACE"]);
        Assert.Equal("service_healthy", job.DependsOn["temporal"]);
        Assert.Equal("service_completed_successfully", Compose["api"].DependsOn["temporal-create-namespace"]);
        Assert.Equal("service_completed_successfully", Compose["worker"].DependsOn["temporal-create-namespace"]);
    }

    private static bool IsLocalBuild(string image) =>
        Compose.Services.Values.Any(service => service.IsBuilt && service.Image == image);

    /// <summary>Maps a path inside a service's container to the repository file of the bind mount that covers it.</summary>
    private static string HostPathOf(ComposeService service, string containerPath)
    {
        foreach (var volume in service.Volumes)
        {
            var parts = volume.Split(':');
            var (source, target) = (parts[0], parts[1].TrimEnd('/'));
            if (source.StartsWith('.') && containerPath.StartsWith(target + "/", StringComparison.Ordinal))
            {
                return RepositoryPaths.File([source, .. containerPath[(target.Length + 1)..].Split('/')]);
            }
        }

        throw new InvalidOperationException($"{service.Name}: no bind mount covers {containerPath}.");
    }

    private static (string Host, int Port) HostAndPort(string address)
    {
        var match = HostPortPattern().Match(address);
        Assert.True(match.Success, $"'{address}' is not host:port.");
        return (match.Groups["host"].Value, int.Parse(match.Groups["port"].Value, CultureInfo.InvariantCulture));
    }

    /// <summary>Addresses of other services in a service's environment: Temporal addresses, Temporal's database, our connection string.</summary>
    private static IEnumerable<(string From, string Variable, string Host, int Port)> NetworkReferences(ComposeService service)
    {
        foreach (var (name, value) in service.Environment)
        {
            switch (name)
            {
                case "TEMPORAL_ADDRESS" or "Temporal__Address":
                    var (host, port) = HostAndPort(value);
                    yield return (service.Name, name, host, port);
                    break;
                case "POSTGRES_SEEDS":
                    yield return (service.Name, name, value, int.Parse(service.Environment.GetValueOrDefault("DB_PORT", "5432"), CultureInfo.InvariantCulture));
                    break;
                case "ConnectionStrings__CurWorkflows":
                    var server = (string)new DbConnectionStringBuilder { ConnectionString = value }["Server"];
                    var parts = server.Split(',');
                    yield return (service.Name, name, parts[0], parts.Length > 1 ? int.Parse(parts[1], CultureInfo.InvariantCulture) : 1433);
                    break;
                default:
                    break;
            }
        }
    }

    [GeneratedRegex("^(?<host>[A-Za-z0-9.-]+):(?<port>[0-9]+)$")]
    private static partial Regex HostPortPattern();
}
