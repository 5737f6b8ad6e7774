namespace CurWorkflows.Cur.Aggregation;

/// <summary>
/// Packages of resources, from the resource tagging API (ARN -> package). A CUR `lineItem/ResourceId` is either the
/// whole ARN or its last part (`i-0abc` for `arn:aws:ec2:...:instance/i-0abc`), so both are looked up. A last part
/// that two ARNs with different packages share is ambiguous and not used.
/// </summary>
public sealed class ResourcePackageIndex
{
    private readonly Dictionary<string, string> _byArn = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string?> _byLastPart = new(StringComparer.Ordinal);

    public ResourcePackageIndex(IEnumerable<KeyValuePair<string, string>> packagesByArn)
    {
        foreach (var (arn, package) in packagesByArn)
        {
            if (string.IsNullOrEmpty(arn) || string.IsNullOrEmpty(package))
            {
                continue;
            }

            _byArn[arn] = package;
            var lastPart = LastPart(arn);
            if (lastPart.Length == 0 || lastPart == arn)
            {
                continue;
            }

            _byLastPart[lastPart] = _byLastPart.TryGetValue(lastPart, out var existing) && existing != package ? null : package;
        }
    }

    public int Count => _byArn.Count;

    public bool TryGetPackage(string resourceId, out string package)
    {
        if (_byArn.TryGetValue(resourceId, out package!))
        {
            return true;
        }

        if (_byLastPart.TryGetValue(resourceId, out var byPart) && byPart is not null)
        {
            package = byPart;
            return true;
        }

        package = "";
        return false;
    }

    /// <summary>The part of an ARN after its last `/` or `:`.</summary>
    public static string LastPart(string arn) => arn[(arn.LastIndexOfAny(['/', ':']) + 1)..];
}
