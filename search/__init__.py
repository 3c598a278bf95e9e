"""Search: photo and hybrid queries answered from the stores (service), rankings fused (fusion)."""
