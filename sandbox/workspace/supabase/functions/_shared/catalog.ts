// Static tenant and menu data served by the edge functions. The tenants mirror
// migrations/20251101090100_seed_rollout_tenants.sql (a Deno test checks that).

export const TIERS = ["internal", "pilot", "low_volume", "ga"] as const;
export type Tier = typeof TIERS[number];

export interface Tenant {
  id: string;
  slug: string;
  name: string;
  tier: Tier;
  cuisine: keyof typeof MENUS;
  currency: string;
}

export interface MenuItem {
  id: string;
  name: string;
  category: "starter" | "main" | "dessert" | "drink";
  price_minor: number;
  available: boolean;
}

export const MENUS = {
  canteen: [
    { id: "can-01", name: "Vegetable soup", category: "starter", price_minor: 1500, available: true },
    { id: "can-02", name: "Grilled tilapia with plantain", category: "main", price_minor: 6500, available: true },
    { id: "can-03", name: "Beef brochettes", category: "main", price_minor: 5000, available: true },
    { id: "can-04", name: "Passion fruit juice", category: "drink", price_minor: 1200, available: true },
  ],
  grill: [
    { id: "grl-01", name: "Chicken wings", category: "starter", price_minor: 3500, available: true },
    { id: "grl-02", name: "Goat brochettes", category: "main", price_minor: 6000, available: true },
    { id: "grl-03", name: "Grilled corn", category: "main", price_minor: 2000, available: false },
    { id: "grl-04", name: "Ginger beer", category: "drink", price_minor: 1500, available: true },
  ],
  cafe: [
    { id: "caf-01", name: "Espresso", category: "drink", price_minor: 1500, available: true },
    { id: "caf-02", name: "Avocado toast", category: "main", price_minor: 4500, available: true },
    { id: "caf-03", name: "Banana bread", category: "dessert", price_minor: 2500, available: true },
  ],
  tacos: [
    { id: "tac-01", name: "Fish taco", category: "main", price_minor: 450, available: true },
    { id: "tac-02", name: "Carnitas taco", category: "main", price_minor: 400, available: true },
    { id: "tac-03", name: "Churros", category: "dessert", price_minor: 350, available: true },
    { id: "tac-04", name: "Horchata", category: "drink", price_minor: 300, available: true },
  ],
  noodles: [
    { id: "ndl-01", name: "Gyoza", category: "starter", price_minor: 600, available: true },
    { id: "ndl-02", name: "Beef pho", category: "main", price_minor: 1350, available: true },
    { id: "ndl-03", name: "Dan dan noodles", category: "main", price_minor: 1250, available: true },
    { id: "ndl-04", name: "Jasmine tea", category: "drink", price_minor: 300, available: true },
  ],
  diner: [
    { id: "din-01", name: "Cheeseburger", category: "main", price_minor: 1100, available: true },
    { id: "din-02", name: "Fries", category: "starter", price_minor: 400, available: true },
    { id: "din-03", name: "Milkshake", category: "drink", price_minor: 550, available: true },
  ],
  bowls: [
    { id: "bwl-01", name: "Quinoa bowl", category: "main", price_minor: 1200, available: true },
    { id: "bwl-02", name: "Falafel bowl", category: "main", price_minor: 1150, available: true },
    { id: "bwl-03", name: "Kombucha", category: "drink", price_minor: 450, available: true },
  ],
  pizza: [
    { id: "pz-01", name: "Margherita", category: "main", price_minor: 1000, available: true },
    { id: "pz-02", name: "Diavola", category: "main", price_minor: 1200, available: true },
    { id: "pz-03", name: "Tiramisu", category: "dessert", price_minor: 600, available: true },
  ],
  sushi: [
    { id: "su-01", name: "Miso soup", category: "starter", price_minor: 350, available: true },
    { id: "su-02", name: "Salmon nigiri set", category: "main", price_minor: 1800, available: true },
    { id: "su-03", name: "Green tea", category: "drink", price_minor: 250, available: true },
  ],
  bakery: [
    { id: "bak-01", name: "Croissant", category: "main", price_minor: 250, available: true },
    { id: "bak-02", name: "Sourdough loaf", category: "main", price_minor: 600, available: true },
    { id: "bak-03", name: "Cinnamon roll", category: "dessert", price_minor: 350, available: true },
  ],
} satisfies Record<string, MenuItem[]>;

export const TENANTS: readonly Tenant[] = [
  { id: "7e0a0000-0000-4000-8000-000000000001", slug: "icupa-hq", name: "ICUPA HQ Canteen", tier: "internal", cuisine: "canteen", currency: "RWF" },
  { id: "7e0a0000-0000-4000-8000-000000000002", slug: "icupa-qa", name: "ICUPA QA Kitchen", tier: "internal", cuisine: "canteen", currency: "RWF" },
  { id: "7e0a0000-0000-4000-8000-000000000003", slug: "kigali-bistro", name: "Kigali Bistro", tier: "pilot", cuisine: "grill", currency: "RWF" },
  { id: "7e0a0000-0000-4000-8000-000000000004", slug: "lakeside-grill", name: "Lakeside Grill", tier: "pilot", cuisine: "grill", currency: "RWF" },
  { id: "7e0a0000-0000-4000-8000-000000000005", slug: "mountain-cafe", name: "Mountain Cafe", tier: "low_volume", cuisine: "cafe", currency: "RWF" },
  { id: "7e0a0000-0000-4000-8000-000000000006", slug: "harbor-tacos", name: "Harbor Tacos", tier: "low_volume", cuisine: "tacos", currency: "EUR" },
  { id: "7e0a0000-0000-4000-8000-000000000007", slug: "city-noodles", name: "City Noodles", tier: "low_volume", cuisine: "noodles", currency: "EUR" },
  { id: "7e0a0000-0000-4000-8000-000000000008", slug: "sunset-diner", name: "Sunset Diner", tier: "ga", cuisine: "diner", currency: "EUR" },
  { id: "7e0a0000-0000-4000-8000-000000000009", slug: "green-bowl", name: "Green Bowl", tier: "ga", cuisine: "bowls", currency: "EUR" },
  { id: "7e0a0000-0000-4000-8000-00000000000a", slug: "urban-pizza", name: "Urban Pizza", tier: "ga", cuisine: "pizza", currency: "EUR" },
  { id: "7e0a0000-0000-4000-8000-00000000000b", slug: "river-sushi", name: "River Sushi", tier: "ga", cuisine: "sushi", currency: "EUR" },
  { id: "7e0a0000-0000-4000-8000-00000000000c", slug: "central-bakery", name: "Central Bakery", tier: "ga", cuisine: "bakery", currency: "EUR" },
];

/** Flags every tenant has, and their value when no override says otherwise. */
export const DEFAULT_FLAGS: Readonly<Record<string, boolean>> = {
  new_checkout: false,
  ai_waiter: false,
  split_bill: false,
};

export function findTenant(slug: string): Tenant | undefined {
  return TENANTS.find((t) => t.slug === slug);
}
