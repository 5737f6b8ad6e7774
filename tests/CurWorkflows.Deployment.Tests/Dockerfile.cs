using System.Text.Json;
using System.Xml.Linq;

namespace CurWorkflows.Deployment.Tests;

/// <summary>One Dockerfile instruction with continuation lines joined.</summary>
internal sealed record DockerInstruction(int Line, string Keyword, string Arguments)
{
    /// <summary>The arguments split on whitespace, or the items of the JSON (exec) form.</summary>
    public IReadOnlyList<string> Words =>
        Arguments.StartsWith('[')
            ? JsonSerializer.Deserialize<List<string>>(Arguments) ?? []
            : Arguments.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Leading `--flag[=value]` words.</summary>
    public IReadOnlyList<string> Flags => Words.TakeWhile(word => word.StartsWith("--", StringComparison.Ordinal)).ToList();

    public IReadOnlyList<string> Operands => Words.SkipWhile(word => word.StartsWith("--", StringComparison.Ordinal)).ToList();

    /// <summary>The variables an ENV instruction sets: `K=V K2="V 2"` pairs (double quotes group), or the legacy `K V` form.</summary>
    public IReadOnlyDictionary<string, string> EnvironmentPairs()
    {
        var pairs = new Dictionary<string, string>(StringComparer.Ordinal);
        var firstSpace = Arguments.IndexOf(' ', StringComparison.Ordinal);
        var firstEquals = Arguments.IndexOf('=', StringComparison.Ordinal);
        if (firstEquals < 0 || (firstSpace >= 0 && firstSpace < firstEquals))
        {
            pairs[Arguments[..firstSpace]] = Arguments[(firstSpace + 1)..].Trim();
            return pairs;
        }

        var token = new System.Text.StringBuilder();
        var quoted = false;
        foreach (var character in Arguments + " ")
        {
            if (character == '"')
            {
                quoted = !quoted;
            }
            else if (char.IsWhiteSpace(character) && !quoted)
            {
                if (token.Length > 0)
                {
                    var text = token.ToString();
                    var equals = text.IndexOf('=', StringComparison.Ordinal);
                    pairs[text[..equals]] = text[(equals + 1)..];
                    token.Clear();
                }
            }
            else
            {
                token.Append(character);
            }
        }

        return pairs;
    }
}

internal sealed class Dockerfile
{
    private Dockerfile(IReadOnlyList<DockerInstruction> instructions) => Instructions = instructions;

    public IReadOnlyList<DockerInstruction> Instructions { get; }

    public IEnumerable<DockerInstruction> Named(string keyword) =>
        Instructions.Where(instruction => instruction.Keyword.Equals(keyword, StringComparison.OrdinalIgnoreCase));

    /// <summary>Instructions of the last stage (the image that runs).</summary>
    public IReadOnlyList<DockerInstruction> FinalStage =>
        Instructions.SkipWhile((_, index) => index < LastIndexOf("FROM")).ToList();

    public int LastIndexOf(string keyword) =>
        Instructions.Select((instruction, index) => (instruction, index))
            .Last(pair => pair.instruction.Keyword.Equals(keyword, StringComparison.OrdinalIgnoreCase)).index;

    public static Dockerfile Load(string path)
    {
        var instructions = new List<DockerInstruction>();
        var pending = "";
        var startLine = 0;
        var lineNumber = 0;
        foreach (var rawLine in File.ReadLines(path))
        {
            lineNumber++;
            var line = rawLine.Trim();
            if (pending.Length == 0 && (line.Length == 0 || line.StartsWith('#')))
            {
                continue;
            }

            if (pending.Length == 0)
            {
                startLine = lineNumber;
            }

            if (line.EndsWith('\\'))
            {
                pending += line[..^1] + " ";
                continue;
            }

            var text = (pending + line).Trim();
            pending = "";
            var space = text.IndexOfAny([' ', '\t']);
            instructions.Add(space < 0
                ? new DockerInstruction(startLine, text.ToUpperInvariant(), "")
                : new DockerInstruction(startLine, text[..space].ToUpperInvariant(), text[(space + 1)..].Trim()));
        }

        return new Dockerfile(instructions);
    }
}

/// <summary>Project files and their ProjectReference graph.</summary>
internal static class ProjectGraph
{
    /// <summary>
    /// The project, every project it references (directly or transitively) and every file those projects import by a
    /// relative path, as repository-relative paths with '/': what a restore of the project reads besides the
    /// repository-wide build files.
    /// </summary>
    public static IReadOnlySet<string> Closure(string repositoryRelativeProject)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([Normalize(repositoryRelativeProject)]);
        while (pending.TryPop(out var project))
        {
            if (!seen.Add(project))
            {
                continue;
            }

            var absolute = RepositoryPaths.File(project.Split('/'));
            var directory = Path.GetDirectoryName(absolute)!;
            if (!absolute.EndsWith(".csproj", StringComparison.Ordinal))
            {
                continue;
            }

            foreach (var import in XDocument.Load(absolute).Descendants("Import"))
            {
                var imported = import.Attribute("Project")?.Value ?? throw new InvalidDataException($"{project}: Import without Project.");
                if (!imported.Contains('$', StringComparison.Ordinal))
                {
                    pending.Push(Normalize(Path.GetRelativePath(RepositoryPaths.Root, Path.GetFullPath(Path.Combine(directory, imported.Replace('\\', '/'))))));
                }
            }

            foreach (var reference in XDocument.Load(absolute).Descendants("ProjectReference"))
            {
                var include = reference.Attribute("Include")?.Value ?? throw new InvalidDataException($"{project}: ProjectReference without Include.");
                var referenced = Path.GetFullPath(Path.Combine(directory, include.Replace('\\', '/')));
                pending.Push(Normalize(Path.GetRelativePath(RepositoryPaths.Root, referenced)));
            }
        }

        return seen;
    }

    public static string Normalize(string path)
    {
        var normalized = path.Replace('\\', '/');
        while (normalized.StartsWith("./", StringComparison.Ordinal))
        {
            normalized = normalized[2..];
        }

        return normalized;
    }

    /// <summary>The assembly name of a project: its AssemblyName property, else the file name.</summary>
    public static string AssemblyName(string repositoryRelativeProject)
    {
        var document = XDocument.Load(RepositoryPaths.File(repositoryRelativeProject.Split('/')));
        return document.Descendants("AssemblyName").Select(element => element.Value).FirstOrDefault()
               ?? Path.GetFileNameWithoutExtension(repositoryRelativeProject);
    }
}
