namespace CurWorkflows.Storage.Entities;

/// <summary>
/// An organization's API key. Only the SHA-256 hash of the secret is stored; <see cref="KeyId"/> is the public,
/// unique part of the presented key that finds the row before the hash is compared in constant time.
/// </summary>
public sealed class ApiKey
{
    public Guid Id { get; set; }

    public Guid OrganizationId { get; set; }

    public required string KeyId { get; set; }

    public required byte[] SecretHash { get; set; }

    public string Name { get; set; } = "";

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? RevokedAt { get; set; }

    public override string ToString() => $"ApiKey {KeyId} (organization {OrganizationId})";
}
