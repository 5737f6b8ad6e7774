namespace CurWorkflows.Storage.Entities;

/// <summary>A tenant. Every integration, run and cost row belongs to exactly one organization.</summary>
public sealed class Organization
{
    public Guid Id { get; set; }

    public required string Name { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}
