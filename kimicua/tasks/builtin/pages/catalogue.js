// The shop's small catalogue, shared by the search, category, product and cart pages.
const CATALOGUE = [
  {id: "blue-mug", name: "Blue mug", category: "kitchen", price: 9.5},
  {id: "red-mug", name: "Red mug", category: "kitchen", price: 9.5},
  {id: "kiwi-peeler", name: "Kiwi peeler", category: "kitchen", price: 4.25},
  {id: "tea-kettle", name: "Tea kettle", category: "kitchen", price: 32.0},
  {id: "brass-desk-lamp", name: "Brass desk lamp", category: "office", price: 48.0},
  {id: "led-floor-lamp", name: "LED floor lamp", category: "office", price: 65.0},
  {id: "oak-bookshelf", name: "Oak bookshelf", category: "office", price: 120.0},
  {id: "stapler", name: "Stapler", category: "office", price: 7.75},
  {id: "watering-can", name: "Watering can", category: "garden", price: 14.0},
  {id: "kiwi-plant", name: "Kiwi plant", category: "garden", price: 22.0},
  {id: "garden-lamp", name: "Solar garden lamp", category: "garden", price: 18.0},
  {id: "rake", name: "Rake", category: "garden", price: 16.5},
];
const CATEGORIES = {kitchen: "Kitchen", office: "Office", garden: "Garden"};

function findItem(id) { return CATALOGUE.find(item => item.id === id) || null; }

// The cart lives in sessionStorage: it survives navigation within the tab, and a new
// tab (a new episode) starts empty.
function readCart() { return JSON.parse(sessionStorage.getItem("cart") || "{}"); }
function writeCart(cart) { sessionStorage.setItem("cart", JSON.stringify(cart)); }
