using System.Text;

namespace CurWorkflows.Deployment.Tests;

/// <summary>An HCL block (or a file's body, with an empty type): attributes as raw expression text, nested blocks.</summary>
internal sealed record HclBlock(string Type, IReadOnlyList<string> Labels, IReadOnlyDictionary<string, string> Attributes, IReadOnlyList<HclBlock> Blocks)
{
    public IEnumerable<HclBlock> Children(string type) => Blocks.Where(block => block.Type == type);

    public HclBlock Child(string type) =>
        Children(type).SingleOrDefault() ?? throw new KeyNotFoundException($"{Describe()} has no single '{type}' block.");

    /// <summary>The block `type "label0" "label1"` among the children.</summary>
    public HclBlock Child(string type, params string[] labels) =>
        Blocks.SingleOrDefault(block => block.Type == type && block.Labels.SequenceEqual(labels))
        ?? throw new KeyNotFoundException($"No block {type} {string.Join(' ', labels.Select(label => $"\"{label}\""))}.");

    public string Attribute(string name) =>
        Attributes.TryGetValue(name, out var value) ? value : throw new KeyNotFoundException($"{Describe()} has no attribute '{name}'.");

    /// <summary>An object-valued attribute (`name = { key = value ... }`) parsed as a body.</summary>
    public HclBlock ObjectAttribute(string name)
    {
        var expression = Attribute(name).Trim();
        if (!expression.StartsWith('{') || !expression.EndsWith('}'))
        {
            throw new InvalidDataException($"{Describe()}.{name} is not an object: {expression}");
        }

        return Hcl.Parse(expression[1..^1]) with { Type = name };
    }

    private string Describe() => Type.Length == 0 ? "the file" : $"{Type} {string.Join(' ', Labels)}";
}

/// <summary>A small reader for the HCL subset the module uses: blocks, labels, attributes, comments, strings with interpolation.</summary>
internal static class Hcl
{
    public static HclBlock Parse(string text)
    {
        var position = 0;
        return ParseBody(text, ref position, "", []);
    }

    public static HclBlock ParseFiles(IEnumerable<string> paths)
    {
        var blocks = paths.Select(path => Parse(File.ReadAllText(path))).ToList();
        return new HclBlock("", [], blocks.SelectMany(block => block.Attributes).ToDictionary(), blocks.SelectMany(block => block.Blocks).ToList());
    }

    /// <summary>The content of a quoted string literal (escapes \" and \\ undone).</summary>
    public static string Unquote(string expression)
    {
        var trimmed = expression.Trim();
        if (trimmed.Length < 2 || trimmed[0] != '"' || trimmed[^1] != '"')
        {
            throw new InvalidDataException($"Not a string literal: {expression}");
        }

        return trimmed[1..^1].Replace("\\\"", "\"", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);
    }

    /// <summary>The items of a list expression `[a, "b"]`, as raw expressions.</summary>
    public static IReadOnlyList<string> ListItems(string expression)
    {
        var trimmed = expression.Trim();
        if (trimmed.Length < 2 || trimmed[0] != '[' || trimmed[^1] != ']')
        {
            throw new InvalidDataException($"Not a list: {expression}");
        }

        var items = new List<string>();
        var inner = trimmed[1..^1];
        var position = 0;
        while (true)
        {
            SkipTrivia(inner, ref position, skipCommas: true);
            if (position >= inner.Length)
            {
                return items;
            }

            items.Add(ReadExpression(inner, ref position).Trim());
        }
    }

    private static HclBlock ParseBody(string text, ref int position, string type, IReadOnlyList<string> labels)
    {
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        var blocks = new List<HclBlock>();
        while (true)
        {
            SkipTrivia(text, ref position, skipCommas: true);
            if (position >= text.Length || text[position] == '}')
            {
                position++;
                return new HclBlock(type, labels, attributes, blocks);
            }

            var name = ReadIdentifier(text, ref position);
            SkipSpaces(text, ref position);
            if (text[position] == '=' && (position + 1 >= text.Length || text[position + 1] != '='))
            {
                position++;
                attributes[name] = ReadExpression(text, ref position).Trim();
                continue;
            }

            var blockLabels = new List<string>();
            while (text[position] == '"')
            {
                var start = position;
                SkipString(text, ref position);
                blockLabels.Add(Unquote(text[start..position]));
                SkipSpaces(text, ref position);
            }

            if (text[position] != '{')
            {
                throw new InvalidDataException($"Expected '{{' after {name} at offset {position}.");
            }

            position++;
            blocks.Add(ParseBody(text, ref position, name, blockLabels));
        }
    }

    /// <summary>Reads an expression up to a newline, ',' or '}' outside brackets and strings.</summary>
    private static string ReadExpression(string text, ref int position)
    {
        var start = position;
        var depth = 0;
        while (position < text.Length)
        {
            var character = text[position];
            if (character == '"')
            {
                SkipString(text, ref position);
                continue;
            }

            if (character == '#' || (character == '/' && position + 1 < text.Length && text[position + 1] is '/' or '*'))
            {
                if (depth == 0)
                {
                    break;
                }

                SkipTrivia(text, ref position, skipCommas: false);
                continue;
            }

            if (character is '(' or '[' or '{')
            {
                depth++;
            }
            else if (character is ')' or ']' or '}')
            {
                if (depth == 0)
                {
                    break;
                }

                depth--;
            }
            else if (depth == 0 && character is '\n' or ',')
            {
                break;
            }

            position++;
        }

        return StripComments(text[start..position]);
    }

    private static string StripComments(string expression)
    {
        var builder = new StringBuilder();
        var position = 0;
        while (position < expression.Length)
        {
            if (expression[position] == '"')
            {
                var start = position;
                SkipString(expression, ref position);
                builder.Append(expression, start, position - start);
            }
            else if (expression[position] == '#' || (expression[position] == '/' && position + 1 < expression.Length && expression[position + 1] is '/' or '*'))
            {
                SkipTrivia(expression, ref position, skipCommas: false);
                builder.Append(' ');
            }
            else
            {
                builder.Append(expression[position++]);
            }
        }

        return builder.ToString();
    }

    private static void SkipString(string text, ref int position)
    {
        position++; // opening quote
        while (position < text.Length)
        {
            var character = text[position];
            if (character == '\\')
            {
                position += 2;
            }
            else if (character == '"')
            {
                position++;
                return;
            }
            else if (character == '$' && position + 1 < text.Length && text[position + 1] == '{')
            {
                position += 2;
                ReadExpression(text, ref position);
                position++; // closing brace of the interpolation
            }
            else
            {
                position++;
            }
        }

        throw new InvalidDataException("Unterminated string.");
    }

    private static string ReadIdentifier(string text, ref int position)
    {
        var start = position;
        while (position < text.Length && (char.IsLetterOrDigit(text[position]) || text[position] is '_' or '-' or '.'))
        {
            position++;
        }

        if (position == start)
        {
            throw new InvalidDataException($"Expected an identifier at offset {position}: '{text[position..Math.Min(text.Length, position + 20)]}'.");
        }

        return text[start..position];
    }

    private static void SkipSpaces(string text, ref int position)
    {
        while (position < text.Length && text[position] is ' ' or '\t')
        {
            position++;
        }
    }

    private static void SkipTrivia(string text, ref int position, bool skipCommas)
    {
        while (position < text.Length)
        {
            var character = text[position];
            if (char.IsWhiteSpace(character) || (skipCommas && character == ','))
            {
                position++;
            }
            else if (character == '#' || (character == '/' && position + 1 < text.Length && text[position + 1] == '/'))
            {
                while (position < text.Length && text[position] != '\n')
                {
                    position++;
                }
            }
            else if (character == '/' && position + 1 < text.Length && text[position + 1] == '*')
            {
                var end = text.IndexOf("*/", position + 2, StringComparison.Ordinal);
                position = end < 0 ? text.Length : end + 2;
            }
            else
            {
                return;
            }
        }
    }
}
