using System.Text.Json;
using System.Text.RegularExpressions;

namespace CurWorkflows.LocalAws;

/// <summary>
/// The subset of an IAM identity policy the endpoint enforces: statements with Effect, Action and Resource
/// (strings or arrays, <c>*</c> and <c>?</c> wildcards). An explicit Deny wins; anything not allowed is denied.
/// Elements that would change the meaning (Condition, NotAction, NotResource, Principal) are refused at load
/// rather than ignored, so that a policy is never enforced more loosely than AWS would.
/// </summary>
public sealed class IamPolicy
{
    private readonly List<Statement> _statements;

    private IamPolicy(List<Statement> statements) => _statements = statements;

    public static IamPolicy Load(string path) => Parse(File.ReadAllText(path), path);

    public static IamPolicy Parse(string json, string source = "policy")
    {
        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        if (!root.TryGetProperty("Statement", out var statementsElement))
        {
            throw new InvalidDataException($"{source}: no Statement");
        }

        var statements = new List<Statement>();
        foreach (var element in statementsElement.ValueKind == JsonValueKind.Array
                     ? statementsElement.EnumerateArray().ToList()
                     : [statementsElement])
        {
            foreach (var property in element.EnumerateObject())
            {
                if (property.Name is not ("Sid" or "Effect" or "Action" or "Resource"))
                {
                    throw new InvalidDataException($"{source}: statement element '{property.Name}' is not supported by the local endpoint");
                }
            }

            var effect = element.GetProperty("Effect").GetString();
            if (effect is not ("Allow" or "Deny"))
            {
                throw new InvalidDataException($"{source}: Effect must be Allow or Deny, found '{effect}'");
            }

            statements.Add(new Statement(
                effect == "Allow",
                Strings(element.GetProperty("Action")).Select(a => Wildcard(a, ignoreCase: true)).ToList(),
                Strings(element.GetProperty("Resource")).Select(r => Wildcard(r, ignoreCase: false)).ToList()));
        }

        return new IamPolicy(statements);
    }

    /// <summary>True when some statement allows <paramref name="action"/> on <paramref name="resource"/> and none denies it.</summary>
    public bool IsAllowed(string action, string resource)
    {
        var allowed = false;
        foreach (var statement in _statements)
        {
            if (statement.Actions.Any(a => a.IsMatch(action)) && statement.Resources.Any(r => r.IsMatch(resource)))
            {
                if (!statement.Allow)
                {
                    return false;
                }

                allowed = true;
            }
        }

        return allowed;
    }

    private static IEnumerable<string> Strings(JsonElement element) =>
        element.ValueKind == JsonValueKind.Array
            ? element.EnumerateArray().Select(e => e.GetString() ?? string.Empty)
            : [element.GetString() ?? string.Empty];

    private static Regex Wildcard(string pattern, bool ignoreCase) =>
        new("^" + Regex.Escape(pattern).Replace("\\*", ".*", StringComparison.Ordinal).Replace("\\?", ".", StringComparison.Ordinal) + "$",
            (ignoreCase ? RegexOptions.IgnoreCase : RegexOptions.None) | RegexOptions.CultureInvariant | RegexOptions.Singleline);

    private sealed record Statement(bool Allow, List<Regex> Actions, List<Regex> Resources);
}
