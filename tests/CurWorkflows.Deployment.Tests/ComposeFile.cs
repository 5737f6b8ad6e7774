using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Serialization;

namespace CurWorkflows.Deployment.Tests;

/// <summary>A read-only view of docker-compose.yml: YAML anchors and merge keys resolved, `${VAR:-default}` replaced by the default.</summary>
internal sealed partial class ComposeFile
{
    private ComposeFile(IReadOnlyDictionary<string, ComposeService> services, IReadOnlySet<string> namedVolumes)
    {
        Services = services;
        NamedVolumes = namedVolumes;
    }

    public IReadOnlyDictionary<string, ComposeService> Services { get; }

    public IReadOnlySet<string> NamedVolumes { get; }

    public ComposeService this[string name] =>
        Services.TryGetValue(name, out var service) ? service : throw new KeyNotFoundException($"docker-compose.yml has no service '{name}'.");

    public static ComposeFile Load(string path)
    {
        using var reader = new StringReader(File.ReadAllText(path));
        var root = new DeserializerBuilder().Build().Deserialize<Dictionary<object, object?>>(new MergingParser(new Parser(reader)))
                   ?? throw new InvalidDataException($"{path} is empty.");

        var services = Mapping(root, "services")
            .ToDictionary(entry => (string)entry.Key, entry => ComposeService.From((string)entry.Key, AsMapping(entry.Value)), StringComparer.Ordinal);
        var volumes = Mapping(root, "volumes").Keys.Cast<string>().ToHashSet(StringComparer.Ordinal);
        return new ComposeFile(services, volumes);
    }

    /// <summary>Applies compose interpolation with the file's defaults: `${X:-d}` and `${X-d}` become d, `$$` becomes `$`.</summary>
    public static string Interpolate(string value) =>
        InterpolationPattern().Replace(value, match => match.Groups["escaped"].Success ? "$" : match.Groups["default"].Value);

    internal static Dictionary<object, object?> Mapping(IDictionary<object, object?> parent, string key) =>
        parent.TryGetValue(key, out var value) && value is not null ? AsMapping(value) : [];

    internal static Dictionary<object, object?> AsMapping(object? value) => value switch
    {
        Dictionary<object, object?> mapping => mapping,
        IDictionary<object, object> mapping => mapping.ToDictionary(entry => entry.Key, entry => (object?)entry.Value),
        _ => throw new InvalidDataException($"Expected a YAML mapping, found {value?.GetType().Name ?? "null"}."),
    };

    [GeneratedRegex(@"(?<escaped>\$\$)|\$\{(?<name>[A-Za-z_][A-Za-z0-9_]*)(?::?-(?<default>[^}]*))?\}")]
    private static partial Regex InterpolationPattern();
}

internal sealed record PortMapping(int? HostPort, int ContainerPort)
{
    /// <summary>Parses the short syntax: "C", "H:C", "IP:H:C", optionally with "/tcp".</summary>
    public static PortMapping Parse(string text)
    {
        var parts = text.Split('/')[0].Split(':');
        var container = int.Parse(parts[^1], CultureInfo.InvariantCulture);
        int? host = parts.Length >= 2 ? int.Parse(parts[^2], CultureInfo.InvariantCulture) : null;
        return new PortMapping(host, container);
    }
}

internal sealed record ComposeService(
    string Name,
    string? Image,
    bool IsBuilt,
    string? BuildDockerfile,
    IReadOnlyDictionary<string, string> Environment,
    IReadOnlyList<PortMapping> Ports,
    IReadOnlyList<int> Expose,
    IReadOnlyDictionary<string, string> DependsOn,
    string? HealthcheckTest,
    IReadOnlyList<string> Volumes,
    IReadOnlyList<string> Command,
    string? Restart,
    string? Hostname)
{
    /// <summary>Every port this service's containers listen on, as far as the file declares them.</summary>
    public IEnumerable<int> ContainerPorts => Ports.Select(port => port.ContainerPort).Concat(Expose).Distinct();

    public static ComposeService From(string name, Dictionary<object, object?> raw)
    {
        var build = raw.GetValueOrDefault("build");
        string? dockerfile = build switch
        {
            null => null,
            string => "Dockerfile",
            _ => ComposeFile.AsMapping(build).GetValueOrDefault("dockerfile") as string ?? "Dockerfile",
        };

        return new ComposeService(
            name,
            raw.GetValueOrDefault("image") as string,
            build is not null,
            dockerfile,
            ReadEnvironment(raw.GetValueOrDefault("environment")),
            Strings(raw.GetValueOrDefault("ports")).Select(PortMapping.Parse).ToList(),
            Strings(raw.GetValueOrDefault("expose")).Select(port => int.Parse(port, CultureInfo.InvariantCulture)).ToList(),
            ReadDependsOn(raw.GetValueOrDefault("depends_on")),
            ReadHealthcheck(raw.GetValueOrDefault("healthcheck")),
            Strings(raw.GetValueOrDefault("volumes")).ToList(),
            raw.GetValueOrDefault("command") switch
            {
                null => [],
                string command => command.Split(' ', StringSplitOptions.RemoveEmptyEntries),
                var command => Strings(command).ToList(),
            },
            raw.GetValueOrDefault("restart") as string,
            raw.GetValueOrDefault("hostname") as string);
    }

    private static IEnumerable<string> Strings(object? value) => value switch
    {
        null => [],
        IEnumerable<object> items => items.Select(item => Convert.ToString(item, CultureInfo.InvariantCulture) ?? ""),
        _ => throw new InvalidDataException($"Expected a YAML sequence, found {value.GetType().Name}."),
    };

    private static Dictionary<string, string> ReadEnvironment(object? value)
    {
        if (value is null)
        {
            return [];
        }

        if (value is List<object> list)
        {
            return list.Cast<string>()
                .Select(item => item.Split('=', 2))
                .ToDictionary(pair => pair[0], pair => ComposeFile.Interpolate(pair.Length > 1 ? pair[1] : ""), StringComparer.Ordinal);
        }

        return ComposeFile.AsMapping(value).ToDictionary(
            entry => (string)entry.Key,
            entry => ComposeFile.Interpolate(Convert.ToString(entry.Value, CultureInfo.InvariantCulture) ?? ""),
            StringComparer.Ordinal);
    }

    private static Dictionary<string, string> ReadDependsOn(object? value) => value switch
    {
        null => [],
        List<object> names => names.Cast<string>().ToDictionary(name => name, _ => "service_started", StringComparer.Ordinal),
        _ => ComposeFile.AsMapping(value).ToDictionary(
            entry => (string)entry.Key,
            entry => ComposeFile.AsMapping(entry.Value).GetValueOrDefault("condition") as string ?? "service_started",
            StringComparer.Ordinal),
    };

    private static string? ReadHealthcheck(object? value)
    {
        if (value is null)
        {
            return null;
        }

        return ComposeFile.AsMapping(value).GetValueOrDefault("test") switch
        {
            null => null,
            string shell => ComposeFile.Interpolate(shell),
            List<object> items => ComposeFile.Interpolate(string.Join(' ', items.Cast<string>().Skip(1))),
            var other => throw new InvalidDataException($"Unexpected healthcheck test {other}."),
        };
    }
}
